"""A cache hit's rate-limit count and page lookup share one Redis round trip
(eventmate/pagecache/onetrip.py). Real Redis: these run in the PostgreSQL + Redis pass."""

from __future__ import annotations

import pytest
import redis
from limits import parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from eventmate.extensions import cache
from eventmate.pagecache.onetrip import count_and_fetch
from eventmate.resilience import redis_pool

IDENTIFIERS = ("em-test", "203.0.113.7", "events.detail")


@pytest.fixture
def redis_url(app):
    if not app.config.get("REDIS_URL"):
        pytest.skip("no Redis configured in this run (the PostgreSQL pass has one)")
    return app.config["REDIS_URL"]


@pytest.fixture
def backend(app, redis_url):
    with app.app_context():
        cache.clear()
        yield cache.cache
        cache.clear()


@pytest.fixture
def rate_limiter(redis_url):
    storage = RedisStorage(redis_url, connection_pool=redis_pool(redis_url), key_prefix="em-t1")
    storage.reset()
    yield FixedWindowRateLimiter(storage)
    storage.reset()


@pytest.fixture
def round_trips(monkeypatch):
    """How many times a Redis client sent something and waited for the answer."""
    sent = []
    real = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return real(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent


def test_counts_and_fetches_in_one_round_trip(backend, rate_limiter, round_trips):
    backend.set("page:x", {"versions": ["v1"]})
    backend.set("version:x", "v1")
    limit = parse("3 per minute")
    round_trips.clear()
    within, values = count_and_fetch(
        rate_limiter, limit, IDENTIFIERS, backend, ["page:x", "version:x", "absent"]
    )
    assert len(round_trips) == 1
    assert within is True
    assert values == [{"versions": ["v1"]}, "v1", None]
    results = [count_and_fetch(rate_limiter, limit, IDENTIFIERS, backend, ["page:x"])[0]
               for _ in range(3)]  # fmt: skip
    assert results == [True, True, False]  # the fourth in the window is over the limit
    assert rate_limiter.storage.get(limit.key_for(*IDENTIFIERS)) == 4  # counted as the limiter


def test_a_redis_that_forgot_the_limiters_script_still_counts(backend, rate_limiter, redis_url):
    limit = parse("2 per minute")
    assert count_and_fetch(rate_limiter, limit, IDENTIFIERS, backend, ["page:x"])[0] is True
    redis.Redis.from_url(redis_url).script_flush()  # as after a Redis restart
    within, values = count_and_fetch(rate_limiter, limit, IDENTIFIERS, backend, ["page:x"])
    assert (within, values) == (True, [None])
    assert count_and_fetch(rate_limiter, limit, IDENTIFIERS, backend, ["page:x"])[0] is False
    assert backend.breaker.closed  # not taken for Redis being down


def test_other_stores_make_their_two_calls_as_before(backend):
    in_memory = FixedWindowRateLimiter(MemoryStorage())
    assert count_and_fetch(in_memory, parse("1 per minute"), IDENTIFIERS, backend, ["k"]) is None
