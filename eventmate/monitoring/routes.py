"""`/metrics/` for Prometheus: restricted by a bearer token or an allowed network."""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from flask import Blueprint, Response, abort, current_app, request

from eventmate.extensions import limiter, talisman
from eventmate.monitoring.metrics import exposition

bp = Blueprint("monitoring", __name__)


@bp.get("/metrics/")
@talisman(force_https=False)
@limiter.exempt
def metrics():
    if not _scraper_allowed():
        abort(404)  # don't advertise it
    body, content_type = exposition()
    response = Response(body, content_type=content_type)
    response.cache_control.no_store = True
    return response


def _scraper_allowed() -> bool:
    config = current_app.config
    token, networks = config["METRICS_TOKEN"], config["METRICS_ALLOWED_NETWORKS"]
    if not token and not networks:
        return config["METRICS_OPEN_BY_DEFAULT"]
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    client = getattr(client, "ipv4_mapped", None) or client  # ::ffff:10.0.0.1 is 10.0.0.1
    return any(client in network for network in networks)
