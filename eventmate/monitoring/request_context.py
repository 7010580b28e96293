"""Per-request bookkeeping: a request id, timing (Server-Timing for those access.py allows, the
slow-request log), metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from eventmate.monitoring.access import may_see_timing
from eventmate.monitoring.metrics import (
    DB_POOL_IN_USE,
    LATENCY,
    REQUESTS,
    endpoint_label,
    method_label,
)

log = logging.getLogger("eventmate.requests")
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def incoming_or_new(request_id: str | None) -> str:
    """The proxy's request id when it sent a sane one (so logs line up), else a new one."""
    if request_id and WELL_FORMED_REQUEST_ID.fullmatch(request_id):
        return request_id
    return uuid.uuid4().hex


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    _instrument_database_once()


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_id = incoming_or_new(request.headers.get("X-Request-ID"))
    g.db_seconds, g.db_queries = 0.0, 0


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a before_request earlier in the chain answered first
        _start()
        started = g.request_started
    seconds = time.perf_counter() - started
    response.headers["X-Request-ID"] = g.request_id
    if may_see_timing(response):
        response.headers["Server-Timing"] = (
            f"app;dur={seconds * 1000:.2f}, db;dur={g.db_seconds * 1000:.2f};"
            f'desc="{g.db_queries} queries"'
        )
    endpoint = endpoint_label(request.endpoint, current_app.view_functions)
    record_request(endpoint, method_label(request.method), response.status_code, seconds)
    if seconds >= current_app.config["SLOW_REQUEST_SECONDS"]:
        log.warning(
            "slow request: %s %s %s %.0f ms (request id %s)",
            request.method, request.path, response.status_code, seconds * 1000, g.request_id,
        )  # fmt: skip
    return response


def record_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)


def _instrument_database_once() -> None:
    """Query time per request, and pooled connections in use (for every engine)."""
    if event.contains(Engine, "before_cursor_execute", _before_query):
        return
    event.listen(Engine, "before_cursor_execute", _before_query)
    event.listen(Engine, "after_cursor_execute", _after_query)
    event.listen(Pool, "checkout", _checked_out)
    event.listen(Pool, "checkin", _checked_in)


def _checked_out(dbapi_connection, record, proxy) -> None:
    DB_POOL_IN_USE.inc()


def _checked_in(dbapi_connection, record) -> None:
    DB_POOL_IN_USE.dec()


# The start time lives on the statement's execution context: a failed statement leaves
# nothing behind.
def _before_query(conn, cursor, statement, parameters, context, executemany) -> None:
    if context is not None:
        context.eventmate_started = time.perf_counter()


def _after_query(conn, cursor, statement, parameters, context, executemany) -> None:
    started = getattr(context, "eventmate_started", None)
    if started is not None and has_request_context():
        g.db_seconds = g.get("db_seconds", 0.0) + time.perf_counter() - started
        g.db_queries = g.get("db_queries", 0) + 1
