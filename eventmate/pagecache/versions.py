"""Version tokens: what a cached page or fragment was rendered under, and the bumps that make
it stale (see the package docstring)."""

from __future__ import annotations

import uuid

from eventmate.extensions import cache
from eventmate.monitoring.metrics import CACHE_LOOKUPS
from eventmate.pagecache import edge
from eventmate.pagecache.keys import LISTINGS_VERSION, TEXT_SEARCH_VERSION, event_version_key
from eventmate.resilience import ResilientRedisCache


def current_entry(kind: str, key: str, token_keys: list[str]) -> tuple[dict | None, list]:
    """The entry under `key` if it was stored under the current version tokens (one round
    trip for both), and those tokens, to store a fresh entry under on a miss."""
    entry, *versions = cache.get_many(key, *token_keys)
    versions = [version or "0" for version in versions]
    fresh = entry is not None and entry["versions"] == versions
    CACHE_LOOKUPS.labels(kind, "hit" if fresh else "miss").inc()
    return (entry if fresh else None), versions


def invalidate_event(*slugs: str) -> None:
    """The event's own pages change now (seats left, details, images, reviews): the app's
    entries by their token, the edge's copies by a purge. Call after the commit."""
    for slug in slugs:
        bump(event_version_key(slug))
    edge.purge_event_pages(*slugs)


def invalidate_listings() -> None:
    """Every listing page (home, search, city, category): an event appeared, moved, or went,
    or what its card shows changed. (The edge keeps listings PAGE_CACHE_SECONDS at most.)"""
    bump(LISTINGS_VERSION)


def invalidate_text_searches() -> None:
    """Listing pages of a text search: a description (searched, not shown) changed."""
    bump(TEXT_SEARCH_VERSION)


def bump(version_key: str) -> None:
    """A new version token: what was stored under the old one is no longer served."""
    token = uuid.uuid4().hex[:12]
    backend = cache.cache
    if isinstance(backend, ResilientRedisCache):
        backend.set_despite_breaker(version_key, token, timeout=0)
    else:
        cache.set(version_key, token, timeout=0)
