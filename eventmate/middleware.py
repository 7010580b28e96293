"""The layers around Flask's views whose order matters, set up in one place.

A request passes, outermost first:
1. ProxyFix (PROXY_FIX_HOPS > 0): the client's address, scheme, host and port from the
   `X-Forwarded-*` headers of that many proxies (the edge sets all four), so rate limits count
   clients, not the proxy, and absolute URLs carry the public host.
2. Flask: `before_request` functions in the order their extensions registered them
   (monitoring's timer first: create_app registers it first), the view, then `after_request`
   functions, which Flask runs last-registered first.
3. Compression, the last `after_request` to run: anything that changes a body or sets
   headers from it must come before it, so it is put at the front of Flask's list here, after
   every extension has registered its own.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    """Call last in create_app."""
    from eventmate.assets import compression

    app.after_request_funcs.setdefault(None, []).insert(0, compression(app))
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
