"""Load-balancer probes. Cheap, unauthenticated, never rate limited."""

from __future__ import annotations

import logging

from flask import Response, current_app, jsonify
from redis import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from eventmate.extensions import db, limiter, talisman
from eventmate.health import bp
from eventmate.replica.routing import monitor as replica_monitor

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
    would turn a partial outage into a full one. So is the read replica failing, or lagging
    more than REPLICA_MAX_LAG seconds behind: reads go to the primary meanwhile."""
    checks = {"database": _database_ok()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis_ok()
    labels = _labels(checks)
    extra = {}
    if (replica := replica_monitor()) is not None:
        lag = replica.read_now()
        labels["replica"] = _replica_label(lag, current_app.config["REPLICA_MAX_LAG"])
        extra["replica_lag_seconds"] = lag
    if not checks["database"]:
        status, label = 503, "unavailable"
    else:
        healthy = all(value == "ok" for value in labels.values())
        status, label = 200, "ok" if healthy else "degraded"
    return _uncached(jsonify(status=label, checks=labels, **extra)), status


def _replica_label(lag: float | None, max_lag: int) -> str:
    if lag is None:
        return "failing"
    return "ok" if lag <= max_lag else "lagging"


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
