"""Who sees operational detail: `/metrics/` and the `Server-Timing` header.

Both are for operators. Timings tell an outsider how much work a request caused (whether an
account exists, how a search is answered); metrics tell them what the site serves and how
often. OPERATOR_DETAIL_PUBLIC is True only in development and test. Everywhere else
`/metrics/` answers a scraper with METRICS_TOKEN or from METRICS_ALLOWED_NETWORKS, and only
clients from METRICS_ALLOWED_NETWORKS get `Server-Timing`.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from flask import Response, current_app, request


def may_scrape() -> bool:
    config = current_app.config
    token, networks = config["METRICS_TOKEN"], config["METRICS_ALLOWED_NETWORKS"]
    if not token and not networks:
        return config["OPERATOR_DETAIL_PUBLIC"]
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    return client_in_allowed_networks()


def may_see_timing(response: Response) -> bool:
    if current_app.config["OPERATOR_DETAIL_PUBLIC"]:
        return True
    # The edge keeps a `public` page and replays its headers to everyone.
    return not response.cache_control.public and client_in_allowed_networks()


def client_in_allowed_networks() -> bool:
    """The client's address (ProxyFix has put the real one there behind the edge)."""
    try:
        client = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    client = getattr(client, "ipv4_mapped", None) or client  # ::ffff:10.0.0.1 is 10.0.0.1
    return any(client in network for network in current_app.config["METRICS_ALLOWED_NETWORKS"])
