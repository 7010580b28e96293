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

from eventmate.monitoring.metrics import REDIS_CIRCUIT_OPEN

log = logging.getLogger(__name__)

SOCKET_TIMEOUT = 0.25  # seconds; Redis answers in well under a millisecond on a healthy box
CONNECT_TIMEOUT = 0.1
# Waiting for a free pooled connection is queueing behind our own busy requests, not a sign
# that Redis is down: wait longer, and don't open the breaker when it runs out.
POOL_WAIT = 1.0
COOL_DOWN = 5.0


class CircuitBreaker:
    """Closed: use Redis. Open (after a failure): don't, until the cool-down has passed.

    The read replica's breaker (eventmate/replica) is one too, with a gauge, a name for its
    log line and a clock of its own (wall-clock time, which tests can move)."""

    def __init__(
        self, cool_down: float = COOL_DOWN, name: str = "redis", gauge=None,
        what: str = "Redis", clock=time.monotonic,
    ) -> None:  # fmt: skip
        self.cool_down = cool_down
        self.gauge = gauge if gauge is not None else REDIS_CIRCUIT_OPEN.labels(name)
        self.what = what
        self.clock = clock
        self._open_until = 0.0
        self._lock = threading.Lock()
        self._reported_open = False

    @property
    def closed(self) -> bool:
        # (or the clock was set back: an opening never lasts longer than the cool-down)
        return not 0 < self._open_until - self.clock() <= self.cool_down

    def trip(self, error: Exception) -> None:
        with self._lock:
            if self.closed:
                log.warning(
                    "%s unavailable (%s); skipping it for %.0f s", self.what, error, self.cool_down
                )
            self._open_until = self.clock() + self.cool_down
            self.gauge.set(1)
            self._reported_open = True

    def allows(self) -> bool:
        """Closed; once closed again, the metric says so from the first call on."""
        if not self.closed:
            return False
        if self._reported_open:
            self._reported_open = False
            self.gauge.set(0)
        return True

    def call(self, call, fallback, on_skip=None):
        """`call()`, or `fallback` when Redis is (or just turned out to be) unavailable."""
        if not self.allows():
            if on_skip:
                on_skip()
            return fallback
        try:
            return call()
        except (redis.RedisError, OSError) as error:
            if isinstance(error, PoolExhausted):
                log.info("Redis pool exhausted; this call falls back")
            else:
                self.trip(error)
            if on_skip:
                on_skip()
            return fallback


_breakers: dict[str, CircuitBreaker] = {}


def breaker_for(url: str) -> CircuitBreaker:
    if url not in _breakers:
        _breakers[url] = CircuitBreaker(name=re.sub(r"//[^@/]*@", "//", url))  # no password
    return _breakers[url]


class PoolExhausted(redis.ConnectionError):
    """Every pooled connection stayed busy for POOL_WAIT: our own requests queue, Redis is fine."""


class QueueingPool(redis.BlockingConnectionPool):
    """redis-py's blocking pool, whose exhaustion is an exception of its own: redis-py raises a
    plain ConnectionError then, which only its message tells apart from a dead Redis. A request
    waits up to `timeout` for a free slot (a semaphore as large as the pool; gevent-aware once
    gunicorn.conf.py has patched threading), so the pool itself never has to wait."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.free_slots = threading.Semaphore(self.max_connections)

    def get_connection(self, *args: Any, **kwargs: Any):
        if not self.free_slots.acquire(timeout=self.timeout):
            raise PoolExhausted(f"all {self.max_connections} connections busy for {self.timeout} s")
        try:
            return super().get_connection(*args, **kwargs)
        except BaseException:
            self.free_slots.release()
            raise

    def release(self, connection) -> None:
        try:
            super().release(connection)
        finally:
            self.free_slots.release()


def redis_pool(url: str, max_connections: int = 50) -> QueueingPool:
    """A bounded pool with short timeouts: a dead Redis costs milliseconds, not seconds."""
    return QueueingPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=30,
    )


def redis_client(url: str, max_connections: int = 50, client_class=redis.Redis, **kwargs):
    return client_class(connection_pool=redis_pool(url, max_connections), **kwargs)


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

    def set_many_despite_breaker(self, mapping: dict, timeout=None) -> bool:
        """For invalidations: tried even while the breaker skips Redis (a blip in this worker
        must not leave other workers serving a stale page), at the cost of one short timeout
        when Redis is really down. One round trip (cachelib pipelines set_many)."""
        try:
            return bool(super().set_many(mapping, timeout))
        except (redis.RedisError, OSError) as error:
            log.warning("could not write %s to Redis: %s", ", ".join(mapping), error)
            self.breaker.trip(error)
            return False


class SessionStoreClient(redis.Redis):
    """The sessions' Redis client, whose get, set and delete (all Flask-Session's
    RedisSessionInterface calls) go through the circuit breaker: with Redis unavailable a
    session reads as absent (the request is served as anonymous), nothing is written, and
    `session_store_available()` says so for the rest of the request."""

    def __init__(self, breaker: CircuitBreaker, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.breaker = breaker

    def guarded(self, call, fallback):
        return self.breaker.call(call, fallback, on_skip=_note_session_store_down)

    def get(self, name):
        return self.guarded(lambda: super(SessionStoreClient, self).get(name), None)

    def set(self, *args: Any, **kwargs: Any):
        return self.guarded(lambda: super(SessionStoreClient, self).set(*args, **kwargs), None)

    def delete(self, *names):
        return self.guarded(lambda: super(SessionStoreClient, self).delete(*names), 0)

    def available(self) -> bool:
        """A ping through the breaker."""
        return bool(self.guarded(self.ping, False))


def _note_session_store_down() -> None:
    g.session_store_down = True


def session_store_available() -> bool:
    """Can sessions be stored right now? (Always, for the embedded default's files.)"""
    if g.get("session_store_down"):
        return False
    store = current_app.config.get("SESSION_REDIS")
    return store.available() if isinstance(store, SessionStoreClient) else True
