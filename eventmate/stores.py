"""Clients for the session store, chosen by configuration."""

from __future__ import annotations

from collections.abc import Mapping

from cachelib import FileSystemCache
from flask import Flask, Request
from flask.sessions import SessionInterface

from eventmate.resilience import redis_client, redis_pool


def session_store_client(config: Mapping) -> dict:
    """Sessions and rate-limit counters share SESSION_REDIS_URL (never evicted). Flask-Session
    wants a ready client object, not a URL; Flask-Limiter gets a bounded pool (left alone, it
    would make an unbounded one)."""
    if config["SESSION_TYPE"] == "redis":
        url, most = config["SESSION_REDIS_URL"], config["REDIS_MAX_CONNECTIONS"]
        limiter_options = {**config.get("RATELIMIT_STORAGE_OPTIONS", {})}
        limiter_options["connection_pool"] = redis_pool(url, most)
        # The storage's own prefix (default "LIMITS") starts the key: make it ours.
        limiter_options["key_prefix"] = config["RATELIMIT_KEY_PREFIX"]
        return {
            "SESSION_REDIS": redis_client(url, most),
            "RATELIMIT_STORAGE_OPTIONS": limiter_options,
        }
    return {
        "SESSION_CACHELIB": FileSystemCache(
            config["SESSION_CACHELIB_DIR"], threshold=10_000, mode=0o600
        )
    }


class SessionlessPaths(SessionInterface):
    """No session for static files, health checks and metrics: no store round trip, no cookie,
    no `Vary: Cookie` (which would stop shared caches from keeping static files). Flask opens
    the session before it matches the URL, so this goes by path prefix."""

    def __init__(self, inner: SessionInterface, prefixes: tuple[str, ...]) -> None:
        self.inner = inner
        self.prefixes = prefixes

    def open_session(self, app: Flask, request: Request):
        if request.path.startswith(self.prefixes):
            return None  # Flask substitutes a read-only null session, never saved
        return self.inner.open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        self.inner.save_session(app, session, response)

    def make_null_session(self, app: Flask):
        return self.inner.make_null_session(app)

    def is_null_session(self, obj) -> bool:
        return self.inner.is_null_session(obj)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)  # e.g. regenerate(), for sign-in


def skip_sessions_for_infrastructure(app: Flask) -> None:
    static = (app.static_url_path or "/static").rstrip("/") + "/"
    app.session_interface = SessionlessPaths(
        app.session_interface, (static, "/health/", "/metrics/", "/robots.txt")
    )
