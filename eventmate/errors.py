"""Error pages in the site's layout. Tracebacks are logged, never shown outside debug."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        "Bad request",
        "Something in that request didn't make sense. Please check and try again.",
    ),
    403: ("Forbidden", "You don't have permission to see this page."),
    404: (
        "Page not found",
        "We couldn't find that page. The event may have ended or been removed.",
    ),
    405: ("Method not allowed", "That action isn't available here."),
    409: ("Conflict", "That can't be done right now."),
    413: ("Too large", "That upload is too large."),
    429: ("Too many requests", "You're going a little fast. Please wait a moment and try again."),
    500: (
        "Something went wrong",
        "Sorry, something went wrong on our side. We've been told about it.",
    ),
    503: (
        "Temporarily unavailable",
        "EventMate is briefly unavailable. Please try again in a minute.",
    ),
}


def render_error(status: int, message: str | None = None):
    title, default_message = MESSAGES.get(status, ("Error", "Something went wrong."))
    body = render_template(
        "errors/error.html", status=status, title=title, message=message or default_message
    )
    return body, status


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response = error.get_response()
        body, status = render_error(error.code)
        response.set_data(body)
        response.content_type = "text/html; charset=utf-8"
        return response, status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        _drain_request_body()
        return render_error(413, "That upload is too large: images can be up to 5 MB each.")

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        body, status = render_error(429)
        return body, status, {"Retry-After": str(_seconds_until_reset())}

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400, "Your form expired or came from another site. Go back, reload and try again."
        )

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(error: DBAPIError | PoolTimeout):
        """PostgreSQL down, restarting or out of connections: say so, and ask to retry.
        The pool (pool_pre_ping) replaces dead connections once the database is back."""
        if isinstance(error, DBAPIError) and not _is_connection_problem(error):
            raise error
        log.error("database unavailable: %s", str(getattr(error, "orig", error)).strip())
        _forget_failed_transaction()
        # The layout must not load the signed-in user from the database it can't reach (the
        # user loader reads this), nor show a user loaded before it failed.
        g.database_unavailable = True
        body, status = render_error(503, DATABASE_DOWN_MESSAGE)
        return body, status, {"Retry-After": str(DATABASE_RETRY_AFTER)}

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):
        log.error("unhandled error", exc_info=error.original_exception or error)
        # The failure may have left the transaction failed (a flush that raised, or PostgreSQL
        # refusing every statement after an error): the page's header loads the signed-in user,
        # and would fail too, sending out a bare 500 instead of this page.
        _forget_failed_transaction()
        return render_error(500)


def _seconds_until_reset() -> int:
    """Retry-After for a 429. The limiter's own X-RateLimit headers are off: they cost two more
    storage round trips on every request; this costs them only when a limit is hit."""
    from eventmate.extensions import limiter

    try:
        breached = limiter.current_limit
        return max(1, int(breached.reset_at - time.time())) if breached else 60
    except Exception:  # the limit store just failed: any honest guess will do
        log.warning("rate limit reset time unavailable", exc_info=True)
        return 60


DATABASE_DOWN_MESSAGE = (
    "EventMate can't reach its database right now. Nothing you sent was lost or half-saved; "
    "please try again in a moment."
)
DATABASE_RETRY_AFTER = 30


def _is_connection_problem(error: DBAPIError) -> bool:
    """OperationalError covers refused connections, restarts and lost connections; an invalidated
    connection is one the pool has just found dead."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)


def _forget_failed_transaction() -> None:
    from eventmate.extensions import db

    try:
        db.session.rollback()
    except DBAPIError:
        db.session.close()


MAX_DRAIN_BYTES = 64 * 1024 * 1024


def _drain_request_body() -> None:
    """Read (and discard) what the client is still sending, so it gets our 413 page instead of
    a connection reset. Bounded: a client sending more than this is simply cut off."""
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return
    remaining = MAX_DRAIN_BYTES
    try:
        while remaining > 0:
            chunk = stream.read(min(65536, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
    except OSError:
        pass
