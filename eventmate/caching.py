"""Versioned caching: the one way the app keeps anything in its cache (Redis in production,
in process memory for the embedded default).

A value is stored with the *version tokens* it was computed under and served only while they
are all still current. A change bumps a token (a new random value): whatever was stored under
the old one is stale at once, wherever it is, without anyone finding it.

    token               bumped when (by)                                 guards
    LISTINGS            an event is listed, moved or unlisted, or what   listing pages, search
                        its card shows changes (invalidate_listings)     counts, home aggregates
    TEXT_SEARCH         a description changes (invalidate_text_searches)  text searches' pages
    CITIES              the cities change: seeding (invalidate_cities)   the city list
    event_token(slug)   seats, details, images or reviews of the event   its page, its rating
                        change (invalidate_event)
    user_token(id)      any ORM write of the user (auth/user_cache.py)   the signed-in member

The rules, the same for every cache (`cached`):
- Values are plain immutable data: str, numbers, tuples, frozen dataclasses. Never ORM objects
  or pickles of them: nothing can attach them to a session, expire or change them.
- A lookup is one round trip: the value and its tokens together.
- A missing token (never bumped, evicted, or cleared) is created with a new random value, so
  nothing stored before it went can match it.
- Stampedes: within a process, one request computes a missing value; others asking for it
  meanwhile wait for that result (at most WAIT_SECONDS) instead of computing it again.
- A value's lifetime may depend on the value (`seconds` a function of it); 0: not stored.
- Redis down: the cache (resilience.ResilientRedisCache) answers every lookup with a miss and
  drops every store, so values are computed each time, correct and slower. Bumps are still
  tried past its circuit breaker: another worker may be reaching Redis fine.
- `local=True` also keeps the value in the process, checked against its tokens alone: a hit
  costs reading the tokens, not unpickling the value (the city list, on every search page).
- A token's value starts with the time it was made (hex milliseconds). While a request reads
  the read replica (eventmate/replica), a value under a token made in the last
  READ_YOUR_WRITES seconds is computed from the primary: the replica may not yet have replayed
  the write that bumped the token, and an old value stored under the new token would be served
  until it expires.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import current_app, g, has_app_context

from eventmate.extensions import cache
from eventmate.monitoring.metrics import CACHE_LOOKUPS
from eventmate.pagecache import edge
from eventmate.replica.session import primary_reads, reading_replica
from eventmate.resilience import ResilientRedisCache

T = TypeVar("T")

LISTINGS = "version:listings"
TEXT_SEARCH = "version:text-search"
CITIES = "version:cities"
WAIT_SECONDS = 2.0  # for another request's computation of the same value


def event_token(slug: str) -> str:
    return f"version:event:{slug}"


def user_token(user_id: int) -> str:
    return f"version:user:{user_id}"


def listing_tokens(text_search: bool) -> list[str]:
    """A listing changes with any listed event; a text search's also when a description does
    (it is searched, not shown)."""
    return [LISTINGS, TEXT_SEARCH] if text_search else [LISTINGS]


def invalidate_event(*slugs: str, members: Iterable[int] = ()) -> None:
    """The events' own pages change now (seats left, details, images, reviews): the app's
    copies by their tokens, the edge's by a purge; and the cached `members` (their booked
    events, eventmate/auth/user_cache.py), in the same round trip. Call after the commit."""
    bump(*(event_token(slug) for slug in slugs), *(user_token(member) for member in members))
    edge.purge_event_pages(*slugs)


def invalidate_listings() -> None:
    """Every listing (home, search, city, category pages, counts): an event appeared, moved
    or went, or what its card shows changed. (The edge keeps listings PAGE_CACHE_SECONDS.)"""
    bump(LISTINGS)


def invalidate_text_searches() -> None:
    bump(TEXT_SEARCH)


def invalidate_cities() -> None:
    """The city list, and the listings that show cities."""
    bump(CITIES, LISTINGS)


def bump(*tokens: str) -> None:
    """New values for these tokens: what was stored under the old ones is no longer served.
    All in one round trip."""
    backend, values = cache.cache, {token: _new_token() for token in tokens}
    if isinstance(backend, ResilientRedisCache):
        backend.set_many_despite_breaker(values, timeout=0)
    else:
        cache.set_many(values, timeout=0)


def cached(
    kind: str,
    key: str,
    tokens: Sequence[str],
    compute: Callable[[], T],
    seconds: int | Callable[[T], int],
    local: bool = False,
) -> T:
    """The value under `key` if it was stored under the tokens' current values, else
    `compute()`, stored for `seconds` (or `seconds(value)`; 0: not at all) under them. `kind`
    names the cache in the metrics. A constant `seconds` of 0 switches the cache off."""
    if not callable(seconds) and seconds <= 0:
        return compute()
    if local:
        kept = _local_value(key, tokens)
        if kept is not None:
            return kept[0]
    fresh, value, versions = _lookup(kind, key, tokens)
    if not fresh:
        with _single_flight((key, versions)) as first:
            if not first:  # another request just computed it: take its result if stored
                fresh, value, versions = _lookup(kind, key, tokens)
            if not fresh:
                value = _computed(compute, versions)
                _store(key, versions, value, seconds(value) if callable(seconds) else seconds)
    if local and versions is not None:
        _local[key] = (versions, value)
    return value


def _new_token() -> str:
    return f"{int(time.time() * 1000):x}.{uuid.uuid4().hex[:8]}"


def _made_at(version: str) -> float | None:
    """When a token value was made (None: one made before values said so)."""
    stamp, dot, _ = version.partition(".")
    try:
        return int(stamp, 16) / 1000 if dot else None
    except ValueError:
        return None


def _computed(compute: Callable[[], T], versions: tuple | None) -> T:
    """`compute()`, from the primary if the request reads the replica and a token is recent."""
    if versions is None or not reading_replica():
        return compute()
    since = time.time() - current_app.config["READ_YOUR_WRITES"]
    if any((made := _made_at(version)) is not None and made > since for version in versions):
        with primary_reads():
            return compute()
    return compute()


def _lookup(kind: str, key: str, tokens: Sequence[str]) -> tuple[bool, Any, tuple | None]:
    stored, *versions = cache.get_many(key, *tokens)
    current = _current(tokens, versions)
    fresh = stored is not None and current is not None and stored[0] == current
    CACHE_LOOKUPS.labels(kind, "hit" if fresh else "miss").inc()
    return fresh, (stored[1] if fresh else None), current


def _current(tokens: Sequence[str], versions: list) -> tuple | None:
    """The tokens' values, creating any that is missing; None if they can't be read (Redis
    down): then nothing is stored."""
    current = []
    for token, version in zip(tokens, versions, strict=True):
        if version is None:
            new = _new_token()
            version = new if cache.add(token, new, timeout=0) else cache.get(token)
            if version is None:
                return None
        current.append(version)
    return tuple(current)


def _store(key: str, versions: tuple | None, value: Any, seconds: int) -> None:
    if versions is not None and seconds > 0:  # (a timeout of 0 would mean "forever")
        cache.set(key, (versions, value), timeout=seconds)


# This process's copies of `local` values: key -> (token values, value).
_local: dict[str, tuple[tuple, Any]] = {}
LOCAL_CHECKED = "caching_local_checked"  # g attribute: copies found current in this request


def _local_value(key: str, tokens: Sequence[str]) -> tuple[Any] | None:
    """This process's copy, if its tokens are current: read once per request (the city list
    is asked for several times by one search page)."""
    kept = _local.get(key)
    if kept is None:
        return None
    checked = g.setdefault(LOCAL_CHECKED, {}) if has_app_context() else {}
    if checked.get(key) is not kept:
        versions = tuple(cache.get_many(*tokens))
        if None in versions or versions != kept[0]:
            return None
        checked[key] = kept
    return (kept[1],)


_flights: dict[tuple, threading.Event] = {}
_flights_lock = threading.Lock()


@contextmanager
def _single_flight(flight: tuple):
    """True for the first request to compute `flight` in this process; the others wait until
    it is done (or WAIT_SECONDS) and get False."""
    with _flights_lock:
        running = _flights.get(flight)
        if running is None:
            _flights[flight] = mine = threading.Event()
    if running is not None:
        running.wait(WAIT_SECONDS)
        yield False
        return
    try:
        yield True
    finally:
        with _flights_lock:
            del _flights[flight]
        mine.set()
