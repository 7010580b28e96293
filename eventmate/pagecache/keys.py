"""Which pages are cached, and the cache key of a request."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

# The pages whose every query string is either canonical or redirected to the canonical one
# (eventmate/pagecache/canonical.py): only these are stored, by the edge or the app.
CACHEABLE = frozenset(
    {"main.home", "events.search", "events.city", "events.category", "events.detail"}
)
CHANGES_AT = "page_changes_at"  # g attribute: when a page will change by itself


def entry_seconds(config: Mapping, endpoint: str, changes_at: datetime | None, now) -> int:
    """How long a rendered page may be kept; 0: not at all. Listings: PAGE_CACHE_SECONDS, the
    bound on the seats left they show (a booking doesn't refresh every listing). Event pages:
    every change they show bumps their token, so they may be kept longer
    (EVENT_PAGE_CACHE_SECONDS), but never past the moment they change by themselves (the
    event starting: no more booking)."""
    seconds = config["PAGE_CACHE_SECONDS"]
    if endpoint == "events.detail" and config["EVENT_PAGE_CACHE_SECONDS"] > 0:
        seconds = config["EVENT_PAGE_CACHE_SECONDS"]
    if changes_at is not None and changes_at > now:
        seconds = min(seconds, math.floor((changes_at - now).total_seconds()))
    return max(0, seconds)


def page_key(host: str, path: str, query_string: str) -> str:
    """A canonical request's URL (only those are stored, so no other spelling of one page has
    an entry of its own). The host is part of it: pages hold absolute URLs (canonical,
    og:url) built from it."""
    return f"page:{host}{path}?{query_string}"
