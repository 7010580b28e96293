"""eventmate/caching.py: the rules every cache follows. Redis in the PostgreSQL run."""

from __future__ import annotations

import threading
import time

from eventmate import caching
from eventmate.extensions import cache

TOKEN = "version:test"


def counting(values):
    """A compute function that counts its calls and returns the next value each time."""
    calls = []

    def compute():
        calls.append(1)
        return values[len(calls) - 1]

    return compute, calls


def test_a_value_is_served_until_its_token_is_bumped(app, db_session):
    compute, calls = counting(["first", "second"])
    assert caching.cached("test", "test:key", [TOKEN], compute, 60) == "first"
    assert caching.cached("test", "test:key", [TOKEN], compute, 60) == "first"
    assert len(calls) == 1
    caching.bump(TOKEN)
    assert caching.cached("test", "test:key", [TOKEN], compute, 60) == "second"
    assert len(calls) == 2


def test_a_value_computed_before_a_bump_and_stored_after_it_is_not_served(app, db_session):
    compute, _calls = counting(["old", "new"])
    caching.cached("test", "test:key", [TOKEN], compute, 60)
    late = cache.get("test:key")  # what a slow request computed before the change...
    caching.bump(TOKEN)
    cache.set("test:key", late)  # ...and stored after it
    assert caching.cached("test", "test:key", [TOKEN], compute, 60) == "new"


def test_a_token_that_went_missing_never_matches_what_was_stored_before(app, db_session):
    compute, _calls = counting(["before", "after"])
    caching.cached("test", "test:key", [TOKEN], compute, 60)
    cache.delete(TOKEN)  # evicted, say
    assert caching.cached("test", "test:key", [TOKEN], compute, 60) == "after"
    assert cache.get(TOKEN) is not None  # created again, with a new value


def test_a_value_kept_in_the_process_follows_its_token(app, db_session):
    compute, calls = counting([("a",), ("b",), ("c",)])

    def in_a_request():
        with app.app_context():  # a request's own g
            return caching.cached("test", "test:local", [TOKEN], compute, 60, local=True)

    first = in_a_request()
    assert in_a_request() is first
    caching.bump(TOKEN)
    assert in_a_request() == ("b",)
    cache.clear()  # `flask cache clear`: the process's copy goes too
    assert in_a_request() == ("c",)
    assert len(calls) == 3


def test_a_value_kept_in_the_process_is_checked_once_per_request(app, db_session):
    compute, calls = counting([("a",), ("b",)])
    with app.app_context():
        caching.cached("test", "test:local", [TOKEN], compute, 60, local=True)
    with app.app_context():
        caching.cached("test", "test:local", [TOKEN], compute, 60, local=True)  # checked here
        caching.bump(TOKEN)  # (in another process, say)
        assert caching.cached("test", "test:local", [TOKEN], compute, 60, local=True) == ("a",)
    assert len(calls) == 1


def test_a_lifetime_of_zero_stores_nothing(app, db_session):
    compute, _calls = counting(["one", "two"])
    assert caching.cached("test", "test:key", [TOKEN], compute, lambda value: 0) == "one"
    assert caching.cached("test", "test:key", [TOKEN], compute, lambda value: 0) == "two"
    assert cache.get("test:key") is None


def test_switched_off_it_reads_and_writes_nothing(app, db_session):
    compute, _calls = counting(["one", "two"])
    caching.cached("test", "test:key", [TOKEN], compute, 0)
    assert caching.cached("test", "test:key", [TOKEN], compute, 0) == "two"
    assert cache.get("test:key") is None
    assert cache.get(TOKEN) is None


def test_many_requests_missing_one_value_at_once_compute_it_once(app, db_session):
    calls = []
    results = []

    def slow():
        calls.append(1)
        time.sleep(0.3)  # long enough for every thread to ask while it runs
        return "value"

    def request():
        with app.app_context():
            results.append(caching.cached("test", "test:stampede", [TOKEN], slow, 60))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["value"] * 8
    assert len(calls) == 1
