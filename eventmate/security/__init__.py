"""Security headers (Flask-Talisman plus the cross-origin policies it doesn't set)."""

from __future__ import annotations

from flask import Flask, Response, request, session
from flask_talisman import Talisman
from werkzeug.wsgi import host_is_trusted

ONE_YEAR = 365 * 24 * 3600
UNKNOWN_HOST_MESSAGE = "Bad request: this site is not served under that host name.\n"

# Strict: our own files only, no inline script or style, nonces for the rare inline block.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:", "https://res.cloudinary.com"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}
PERMISSIONS_POLICY = {
    "camera": "()",
    "microphone": "()",
    "geolocation": "()",
    "payment": "()",
    "usb": "()",
    "browsing-topics": "()",
    "interest-cohort": "()",
}


def init_app(app: Flask) -> None:
    # Talisman keeps its settings on the instance, so one shared object would let the last app
    # configured (say, a production app in a test) decide for all. Each app gets its own; the
    # shared `talisman` in extensions is only used for its stateless per-view decorator.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=True,
        strict_transport_security_max_age=ONE_YEAR,
        strict_transport_security_include_subdomains=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=["script-src"],
        permissions_policy=PERMISSIONS_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        x_content_type_options=True,
    )

    @app.before_request
    def refuse_unknown_hosts() -> Response | None:
        """With SITE_HOSTS set, any other Host is a 400: it would be a cache key and the base
        of every absolute URL a page holds (canonical, og:url). Health checks are exempt: a
        load balancer probes an instance by its address. (Not Flask's TRUSTED_HOSTS, which
        can't exempt them.) Plain text: the site's error page would build URLs from that host."""
        hosts = app.config["SITE_HOSTS"]
        if not hosts or request.path.startswith("/health/"):
            return None
        if host_is_trusted(request.headers.get("Host", ""), hosts):
            return None
        return Response(UNKNOWN_HOST_MESSAGE, 400, mimetype="text/plain")

    @app.after_request
    def cross_origin_policies(response: Response) -> Response:
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response

    @app.after_request
    def personal_pages_stay_private(response: Response) -> Response:
        """A response built with session data (a member's page, a form's CSRF token) must never
        be stored by a shared cache and replayed to someone else. A visitor with an empty
        session gets the same page as everyone, which later caching may share."""
        personal = session.accessed and (bool(session) or session.modified)
        if personal and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "private, no-store"
        return response
