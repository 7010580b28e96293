"""Load-balancer probes. Cheap, unauthenticated, never rate limited."""

from __future__ import annotations

import logging

from flask import Response, current_app, jsonify
from redis import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from eventmate.extensions import db, limiter, talisman
from eventmate.health import bp

log = logging.getLogger(__name__)


# Load balancers probe over plain HTTP: answer them, don't redirect to HTTPS.
@bp.get("/")
@bp.get("/live/")
@talisman(force_https=False)
@limiter.exempt
def live():
    """Liveness: the process is up and serving requests. Touches no database, cache or
    session. `/health/` is the same probe under the shorter URL load balancers default to."""
    return _uncached(jsonify(status="ok"))


@bp.get("/ready/")
@talisman(force_https=False)
@limiter.exempt
def ready():
    """Ready for traffic when the database answers (503 otherwise, naming what failed).

    Redis failing is reported as "degraded" with a 200: without it the site still serves every
    page (uncached, sessions unavailable), so taking every instance out of rotation for it
    would turn a partial outage into a full one."""
    checks = {"database": _database_ok()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis_ok()
    if not checks["database"]:
        status, label = 503, "unavailable"
    else:
        status, label = 200, "ok" if all(checks.values()) else "degraded"
    return _uncached(jsonify(status=label, checks=_labels(checks))), status


def _database_ok() -> bool:
    try:
        if db.engine.dialect.name == "postgresql":
            # At most a second (connecting is bounded by DB_CONNECT_TIMEOUT).
            db.session.execute(text("SET LOCAL statement_timeout = 1000"))
        db.session.execute(text("SELECT 1"))
        db.session.rollback()  # ends the transaction SET LOCAL applied to
        return True
    except SQLAlchemyError:
        log.warning("readiness: database check failed", exc_info=True)
        db.session.rollback()
        return False


def _redis_ok() -> bool:
    try:
        # A plain ping, not through the circuit breaker: readiness reports Redis as it is.
        return bool(current_app.config["SESSION_REDIS"].ping())
    except (RedisError, OSError):
        return False


def _labels(checks: dict[str, bool]) -> dict[str, str]:
    return {name: "ok" if ok else "failing" for name, ok in checks.items()}


def _uncached(response: Response) -> Response:
    response.cache_control.no_store = True
    return response
