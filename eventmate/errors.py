"""Error pages in the site's layout. Tracebacks are logged, never shown outside debug."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
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

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400, "Your form expired or came from another site. Go back, reload and try again."
        )

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):
        log.error("unhandled error", exc_info=error.original_exception or error)
        return render_error(500)


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
