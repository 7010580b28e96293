"""Who a request comes from, as the rate limits count it.

The client is `request.remote_addr`, which ProxyFix sets from X-Forwarded-For only for the
configured number of proxy hops. An IPv4 client is its address; an IPv6 client is its /64,
because one subscriber is routinely given a whole /64 and could otherwise rotate through it to
get a fresh budget on every request.
"""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address, ip_network

from flask import request

IPV6_CLIENT_PREFIX = 64
UNMATCHED = "unmatched"  # the one rate-limit identity of every request no route matched


def client_key(address: str | None = None) -> str:
    """The rate-limit key of a client address (by default the request's)."""
    address = request.remote_addr if address is None else address
    try:
        parsed = ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(parsed)


def request_identity() -> str:
    """What Flask-Limiter treats as the requested endpoint. Requests no route matched (404s and
    405s) get one identity of their own instead of none, so the site-wide budget counts them:
    Flask-Limiter exempts a request with no identity from every limit."""
    return request.endpoint or UNMATCHED
