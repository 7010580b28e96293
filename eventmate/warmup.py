"""Warm a worker before it takes traffic: its pools (gunicorn's post_worker_init) and, once
in the master, the page templates (when_ready, with preload_app).

Measured on this box: with cold pools, the first burst of 500 connections made each worker
open dozens of PostgreSQL and Redis connections at once, and those connects were the p99.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)


def warm_pools(app: Flask) -> dict[str, int]:
    """Open (and return to the pool) as many connections as each pool keeps. A service that is
    down is logged and skipped: the worker still starts, and connects later."""
    opened = {"database": _warm_database(app)}
    for name, pool in _redis_pools(app).items():
        opened[name] = _warm_redis(pool, app.config["REDIS_WARM_CONNECTIONS"])
    log.info("warmed pools: %s", opened)
    return opened


def _warm_database(app: Flask) -> int:
    from eventmate.extensions import db

    with app.app_context():
        engine = db.engine
        size = engine.pool.size() if hasattr(engine.pool, "size") else 0
        connections = []
        try:
            for _ in range(size):
                connections.append(engine.connect())
        except SQLAlchemyError:
            log.warning("warm-up: database unavailable", exc_info=True)
        finally:
            for connection in connections:
                connection.close()
        return len(connections)


def _redis_pools(app: Flask) -> dict[str, redis.ConnectionPool]:
    if not app.config.get("REDIS_URL"):
        return {}
    pools = {"sessions": app.config["SESSION_REDIS"].connection_pool}
    limiter_pool = app.config.get("RATELIMIT_STORAGE_OPTIONS", {}).get("connection_pool")
    if limiter_pool is not None:
        pools["limits"] = limiter_pool
    cache = app.extensions.get("cache", {})
    for backend in cache.values():
        client = getattr(backend, "_write_client", None)
        if client is not None:
            pools["cache"] = client.connection_pool
    return pools


def _warm_redis(pool: redis.ConnectionPool, count: int) -> int:
    connections = []
    try:
        for _ in range(count):
            connections.append(pool.get_connection())  # connects, or raises
    except (redis.RedisError, OSError):
        log.warning("warm-up: Redis unavailable")
    finally:
        for connection in connections:
            pool.release(connection)
    return len(connections)


def compile_templates(app: Flask) -> int:
    """Compile every template once, in gunicorn's master (preload_app), so that each worker,
    a recycled one too, is forked with them compiled. Otherwise each new worker compiled them
    while serving its first requests: 97 ms of CPU for the 25 templates here, and a fresh
    worker's first search page took 111 ms instead of 54. Workers are recycled every
    10,000 requests or so: at the load test's rate, each about every 80 s."""
    env = app.jinja_env
    names = [name for name in env.list_templates() if name.endswith((".html", ".xml"))]
    for name in names:
        env.get_template(name)
    log.info("compiled %d templates", len(names))
    return len(names)
