"""A cache hit's two Redis calls, the rate-limit count and the page lookup, in one round trip.

In front of Flask a hit must count the request against the per-IP limit (Flask-Limiter's
fixed window: a Lua INCR-and-EXPIRE) and fetch the page with its version tokens (MGET). Made
one after the other they were a quarter of a hit's time (py-spy, one gevent worker); sent as
one pipeline they cost one round trip. This needs both in the same Redis, the limiter on its
primary storage and the limiter's own script; anything else (in-process stores, the limiter's
in-memory fallback while Redis is down, an open circuit breaker) returns None and the caller
makes the two calls as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import NoScriptError

from eventmate.resilience import ResilientRedisCache

FAILED = (True, None)  # sent, but the answer was lost: maybe counted, nothing fetched


def count_and_fetch(
    rate_limiter, limit: RateLimitItem, identifiers: Sequence[str], backend, keys: Sequence[str]
) -> tuple[bool, list | None] | None:
    """(within the limit, the cached values of `keys`) in one round trip; FAILED when Redis
    failed on the way (the count may have happened: don't count again, let Flask serve it);
    None when not tried (the two don't share one Redis, or the breaker is open)."""
    if not _shares_one_redis(rate_limiter, backend) or not backend.breaker.closed:
        return None
    storage: RedisStorage = rate_limiter.storage
    counter_key = storage.prefixed_key(limit.key_for(*identifiers))
    prefix = backend._get_prefix()

    def trip():
        pipe = backend._read_client.pipeline(transaction=False)
        script = storage.lua_incr_expire
        pipe.evalsha(script.sha, 1, counter_key, limit.get_expiry(), 1)
        pipe.mget([prefix + key for key in keys])
        count, values = pipe.execute(raise_on_error=False)
        if isinstance(count, NoScriptError):  # Redis restarted: the limiter reloads its script
            within = rate_limiter.hit(limit, *identifiers)
        elif isinstance(count, Exception):
            raise count
        else:
            within = int(count) <= limit.amount
        if isinstance(values, Exception):
            return within, None
        return within, [_loaded(backend, value) for value in values]

    return backend.breaker.call(trip, FAILED)


def _loaded(backend, value):
    try:
        return backend.serializer.loads(value)
    except Exception:  # e.g. an entry pickled by an older release: a miss, not an error
        return None


# Decided once per (limiter, cache backend); the pair is kept so that their ids stay theirs.
_shared: dict[tuple[int, int], tuple[object, object, bool]] = {}


def _shares_one_redis(rate_limiter, backend) -> bool:
    pair = (id(rate_limiter), id(backend))
    if pair not in _shared:
        shares = (
            isinstance(rate_limiter, FixedWindowRateLimiter)
            and isinstance(rate_limiter.storage, RedisStorage)
            and isinstance(backend, ResilientRedisCache)
            and _same_server(rate_limiter.storage, backend)
        )
        _shared[pair] = (rate_limiter, backend, shares)
    return _shared[pair][2]


def _same_server(storage: RedisStorage, backend: ResilientRedisCache) -> bool:
    ours = storage.get_connection().connection_pool.connection_kwargs
    theirs = backend._read_client.connection_pool.connection_kwargs
    return all(ours.get(name) == theirs.get(name) for name in ("host", "port", "db", "path"))
