"""Clients for the session store, chosen by configuration."""

from __future__ import annotations

from collections.abc import Mapping

from cachelib import FileSystemCache

from eventmate.resilience import redis_client, redis_pool


def session_store_client(config: Mapping) -> dict:
    """Flask-Session wants a ready client object, not a URL; Flask-Limiter gets a bounded pool
    (left alone, it would make an unbounded one)."""
    if config["SESSION_TYPE"] == "redis":
        url, most = config["REDIS_URL"], config["REDIS_MAX_CONNECTIONS"]
        limiter_options = {**config.get("RATELIMIT_STORAGE_OPTIONS", {})}
        limiter_options["connection_pool"] = redis_pool(url, most)
        return {
            "SESSION_REDIS": redis_client(url, most),
            "RATELIMIT_STORAGE_OPTIONS": limiter_options,
        }
    return {
        "SESSION_CACHELIB": FileSystemCache(
            config["SESSION_CACHELIB_DIR"], threshold=10_000, mode=0o600
        )
    }
