"""Load-balancer probes. Cheap, unauthenticated, never rate limited."""

from __future__ import annotations

import logging

from flask import current_app, jsonify
from redis import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from eventmate.extensions import db, limiter, talisman
from eventmate.health import bp

log = logging.getLogger(__name__)


# Load balancers probe over plain HTTP: answer them, don't redirect to HTTPS.
@bp.get("/live/")
@talisman(force_https=False)
@limiter.exempt
def live():
    """The process is up and serving requests."""
    return jsonify(status="ok")


@bp.get("/ready/")
@talisman(force_https=False)
@limiter.exempt
def ready():
    """Ready for traffic: the database answers. Redis is optional (the site degrades without it)."""
    checks = {"database": _database_ok()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis_ok()
    status = 200 if checks["database"] else 503
    body = {"status": "ok" if status == 200 else "unavailable", "checks": _labels(checks)}
    return jsonify(body), status


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        log.warning("readiness: database check failed", exc_info=True)
        db.session.rollback()
        return False


def _redis_ok() -> bool:
    try:
        return bool(current_app.config["SESSION_REDIS"].ping())
    except RedisError:
        return False


def _labels(checks: dict[str, bool]) -> dict[str, str]:
    return {name: "ok" if ok else "failing" for name, ok in checks.items()}
