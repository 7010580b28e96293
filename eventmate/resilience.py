"""Keep serving when Redis is down or unreachable.

Every Redis client gets short timeouts and a bounded pool, and shares a circuit breaker per
URL: after one failure, calls skip Redis for a cool-down instead of paying a timeout each.
The cache built on it treats every Redis error as a miss.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

import redis
from flask import Flask, current_app, g
from flask_caching.backends.rediscache import RedisCache
from flask_session.redis import RedisSessionInterface

from eventmate.monitoring.metrics import REDIS_CIRCUIT_OPEN

log = logging.getLogger(__name__)

SOCKET_TIMEOUT = 0.25  # seconds; Redis answers in well under a millisecond on a healthy box
CONNECT_TIMEOUT = 0.1
# Waiting for a free pooled connection is queueing behind our own busy requests, not a sign
# that Redis is down: wait longer, and don't open the breaker when it runs out.
POOL_WAIT = 1.0
COOL_DOWN = 5.0


class CircuitBreaker:
    """Closed: use Redis. Open (after a failure): don't, until the cool-down has passed."""

    def __init__(self, cool_down: float = COOL_DOWN, name: str = "redis") -> None:
        self.cool_down = cool_down
        self.gauge = REDIS_CIRCUIT_OPEN.labels(name)
        self._open_until = 0.0
        self._lock = threading.Lock()
        self._reported_open = False

    @property
    def closed(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self, error: Exception) -> None:
        with self._lock:
            if self.closed:
                log.warning("Redis unavailable (%s); skipping it for %.0f s", error, self.cool_down)
            self._open_until = time.monotonic() + self.cool_down
            self.gauge.set(1)
            self._reported_open = True

    def call(self, call, fallback, on_skip=None):
        """`call()`, or `fallback` when Redis is (or just turned out to be) unavailable."""
        if not self.closed:
            if on_skip:
                on_skip()
            return fallback
        if self._reported_open:  # closed again: the metric says so from the first call on
            self._reported_open = False
            self.gauge.set(0)
        try:
            return call()
        except (redis.RedisError, OSError) as error:
            if _pool_exhausted(error):
                log.info("Redis pool exhausted; this call falls back")
            else:
                self.trip(error)
            if on_skip:
                on_skip()
            return fallback


def _pool_exhausted(error: Exception) -> bool:
    return isinstance(error, redis.ConnectionError) and "No connection available" in str(error)


_breakers: dict[str, CircuitBreaker] = {}


def breaker_for(url: str) -> CircuitBreaker:
    if url not in _breakers:
        _breakers[url] = CircuitBreaker(name=re.sub(r"//[^@/]*@", "//", url))  # no password
    return _breakers[url]


def redis_pool(url: str, max_connections: int = 50) -> redis.BlockingConnectionPool:
    """A bounded pool with short timeouts: a dead Redis costs milliseconds, not seconds."""
    return redis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=30,
    )


def redis_client(url: str, max_connections: int = 50) -> redis.Redis:
    return redis.Redis(connection_pool=redis_pool(url, max_connections))


class ResilientRedisCache(RedisCache):
    """Flask-Caching's RedisCache where an unavailable Redis is a cache miss, never an error."""

    def __init__(self, *args: Any, breaker: CircuitBreaker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.breaker = breaker

    @classmethod
    def factory(cls, app: Flask, config: dict, args: list, kwargs: dict) -> ResilientRedisCache:
        url = config["CACHE_REDIS_URL"]
        kwargs.update(
            host=redis_client(url, config.get("REDIS_MAX_CONNECTIONS", 50)),
            key_prefix=config.get("CACHE_KEY_PREFIX"),
            breaker=breaker_for(url),
        )
        return cls(*args, **kwargs)

    def _guarded(self, call, fallback):
        return self.breaker.call(call, fallback)

    def get(self, key):
        return self._guarded(lambda: super(ResilientRedisCache, self).get(key), None)

    def get_many(self, *keys):
        return self._guarded(
            lambda: super(ResilientRedisCache, self).get_many(*keys), [None] * len(keys)
        )

    def set(self, key, value, timeout=None):
        return self._guarded(lambda: super(ResilientRedisCache, self).set(key, value, timeout),
                             False)  # fmt: skip

    def add(self, key, value, timeout=None):
        return self._guarded(lambda: super(ResilientRedisCache, self).add(key, value, timeout),
                             False)  # fmt: skip

    def set_many(self, mapping, timeout=None):
        return self._guarded(lambda: super(ResilientRedisCache, self).set_many(mapping, timeout),
                             [])  # fmt: skip

    def delete(self, key):
        return self._guarded(lambda: super(ResilientRedisCache, self).delete(key), False)

    def delete_many(self, *keys):
        return self._guarded(lambda: super(ResilientRedisCache, self).delete_many(*keys), [])

    def has(self, key):
        return self._guarded(lambda: super(ResilientRedisCache, self).has(key), False)

    def clear(self):
        return self._guarded(lambda: super(ResilientRedisCache, self).clear(), False)

    def inc(self, key, delta=1):
        return self._guarded(lambda: super(ResilientRedisCache, self).inc(key, delta), None)

    def dec(self, key, delta=1):
        return self._guarded(lambda: super(ResilientRedisCache, self).dec(key, delta), None)

    def set_despite_breaker(self, key, value, timeout=None) -> bool:
        """For invalidations: tried even while the breaker skips Redis (a blip in this worker
        must not leave other workers serving a stale page), at the cost of one short timeout
        when Redis is really down."""
        try:
            return super().set(key, value, timeout)
        except (redis.RedisError, OSError) as error:
            log.warning("could not write %s to Redis: %s", key, error)
            self.breaker.trip(error)
            return False


class ResilientRedisSessionInterface(RedisSessionInterface):
    """With Redis unavailable a request is served as anonymous (its session can't be read) and
    nothing is saved; `session_store_available()` lets login pages say so."""

    def __init__(self, *args: Any, breaker: CircuitBreaker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.breaker = breaker

    def _guarded(self, call, fallback):
        return self.breaker.call(call, fallback, on_skip=_note_session_store_down)

    def _retrieve_session_data(self, store_id: str):
        return self._guarded(lambda: super(ResilientRedisSessionInterface, self)
                             ._retrieve_session_data(store_id), None)  # fmt: skip

    def _delete_session(self, store_id: str) -> None:
        self._guarded(lambda: super(ResilientRedisSessionInterface, self)
                      ._delete_session(store_id), None)  # fmt: skip

    def _upsert_session(self, *args: Any, **kwargs: Any) -> None:
        self._guarded(lambda: super(ResilientRedisSessionInterface, self)
                      ._upsert_session(*args, **kwargs), None)  # fmt: skip


def _note_session_store_down() -> None:
    g.session_store_down = True


def session_store_available() -> bool:
    """Can sessions be stored right now? (Always, for the embedded in-process store.)"""
    interface = current_app.extensions.get("session_store")
    if g.get("session_store_down"):
        return False
    if not isinstance(interface, ResilientRedisSessionInterface):
        return True
    return bool(interface._guarded(interface.client.ping, False))


def use_resilient_sessions(app: Flask) -> None:
    """Swap Flask-Session's Redis interface for the resilient one, with the same settings."""
    if not isinstance(app.session_interface, RedisSessionInterface):
        return
    config = app.config
    app.session_interface = ResilientRedisSessionInterface(
        app,
        client=config["SESSION_REDIS"],
        key_prefix=config["SESSION_KEY_PREFIX"],
        use_signer=config.get("SESSION_USE_SIGNER", False),
        permanent=config.get("SESSION_PERMANENT", True),
        sid_length=config.get("SESSION_ID_LENGTH", 32),
        serialization_format=config.get("SESSION_SERIALIZATION_FORMAT", "msgpack"),
        breaker=breaker_for(config["SESSION_REDIS_URL"]),
    )
