"""Clients for the session store, chosen by configuration."""

from __future__ import annotations

from collections.abc import Mapping

from cachelib import FileSystemCache
from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SessionInterface
from flask.sessions import SecureCookieSessionInterface as SessionCookieInterface

from eventmate.resilience import SessionStoreClient, breaker_for, redis_client, redis_pool


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
            "SESSION_REDIS": redis_client(
                url, most, client_class=SessionStoreClient, breaker=breaker_for(url)
            ),
            "RATELIMIT_STORAGE_OPTIONS": limiter_options,
        }
    return {
        "SESSION_CACHELIB": FileSystemCache(
            config["SESSION_CACHELIB_DIR"], threshold=10_000, mode=0o600
        )
    }


VISITOR_COOKIE = "visitor_session"
MEMBER_KEY = "member"  # set at sign-in (eventmate/auth/sessions.py)


class VisitorCookieSessions(SessionCookieInterface):
    """Flask's signed-cookie sessions, under a cookie name of their own."""

    def get_cookie_name(self, app: Flask) -> str:
        return VISITOR_COOKIE


class MembersOnServer(SessionInterface):
    """Only a signed-in member's session is kept in the server-side store; a visitor's (a form's
    CSRF token, a flash message) lives in a signed cookie.

    The server-side store is bounded (the embedded default's files) or must never be evicted
    (Redis): a flood of anonymous requests, each getting a CSRF token, would otherwise fill it
    and push out members' sessions. Signing in moves the session to the store under a new id
    (the store never reuses an id it didn't issue: no fixation); signing out moves what is
    left (a flash) back to the cookie."""

    def __init__(self, server: SessionInterface) -> None:
        self.server = server
        self.visitor = VisitorCookieSessions()

    def open_session(self, app: Flask, request: Request):
        if request.cookies.get(app.config["SESSION_COOKIE_NAME"]):
            session = self.server.open_session(app, request)
            if session is None or MEMBER_KEY in session:
                return session
        return self.visitor.open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        member = MEMBER_KEY in session
        if isinstance(session, SecureCookieSession):
            if not member:
                self.visitor.save_session(app, session, response)
                self._forget_stale_member_cookie(app, response)
                return
            stored = self.server.open_session(app, request)
            if stored:  # an id the store already holds (from before sessions were split)
                self.server.regenerate(stored)
                stored.clear()
            stored.update(session)
            stored.permanent = session.permanent
            stored.modified = True
            self.server.save_session(app, stored, response)
            self._forget_visitor_cookie(app, response)
            return
        if member:
            self.server.save_session(app, session, response)
            return
        left = dict(session)  # signed out: drop the stored copy, keep what's left in a cookie
        session.clear()
        self.server.save_session(app, session, response)
        if left:
            visitor = self.visitor.session_class(left)
            visitor.modified = True
            self.visitor.save_session(app, visitor, response)

    def _forget_stale_member_cookie(self, app: Flask, response) -> None:
        """A member cookie whose session is gone (expired, signed out elsewhere, or from before
        sessions were split) would keep the edge from serving this visitor cached pages."""
        name = app.config["SESSION_COOKIE_NAME"]
        if request.cookies.get(name):
            response.delete_cookie(
                name,
                domain=self.server.get_cookie_domain(app),
                path=self.server.get_cookie_path(app),
            )

    def _forget_visitor_cookie(self, app: Flask, response) -> None:
        if request.cookies.get(VISITOR_COOKIE):
            response.delete_cookie(
                VISITOR_COOKIE,
                domain=self.visitor.get_cookie_domain(app),
                path=self.visitor.get_cookie_path(app),
            )

    def regenerate(self, session) -> None:
        """Sign-in: a member's stored session gets a new id; a visitor's gets one on saving."""
        if not isinstance(session, SecureCookieSession):
            self.server.regenerate(session)

    def __getattr__(self, name: str):
        return getattr(self.server, name)


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


def install_session_interface(app: Flask) -> None:
    """Members' sessions in the store, visitors' in a cookie, none for infrastructure paths."""
    static = (app.static_url_path or "/static").rstrip("/") + "/"
    app.extensions["session_store"] = app.session_interface  # (resilience.py asks it)
    app.session_interface = SessionlessPaths(
        MembersOnServer(app.session_interface), (static, "/health/", "/metrics/", "/robots.txt")
    )
