"""Clients for the session store, chosen by configuration."""

from __future__ import annotations

from collections.abc import Mapping

from cachelib import FileSystemCache

from eventmate.resilience import redis_client


def session_store_client(config: Mapping) -> dict:
    """Flask-Session wants a ready client object, not a URL."""
    if config["SESSION_TYPE"] == "redis":
        return {"SESSION_REDIS": redis_client(config["REDIS_URL"])}
    return {
        "SESSION_CACHELIB": FileSystemCache(
            config["SESSION_CACHELIB_DIR"], threshold=10_000, mode=0o600
        )
    }
