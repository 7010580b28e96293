"""Which pages are cached, and the cache key of a request."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

SEARCH_PARAMS = ("q", "category", "city", "when", "from", "to", "sort", "page")
# endpoint → the query parameters its page reads; anything else can't change the page.
CACHEABLE = {
    "main.home": (),
    "events.search": SEARCH_PARAMS,
    "events.city": SEARCH_PARAMS,
    "events.category": SEARCH_PARAMS,
    "events.detail": ("reviews",),
}
LISTINGS_VERSION = "page-version:listings"


def event_version_key(slug: str) -> str:
    return f"page-version:event:{slug}"


def version_keys(endpoint: str, view_args: Mapping) -> list[str]:
    keys = [LISTINGS_VERSION]
    if endpoint == "events.detail":
        keys.append(event_version_key(view_args["slug"]))
    return keys


def normalised_query(endpoint: str, args: Mapping[str, str]) -> str:
    """`?city=x&q=a&utm=1` and `?q=a&city=x` are the same page: known names only, sorted, and
    (like the views) the first value of each, stripped."""
    values = {name: args.get(name, "").strip() for name in CACHEABLE[endpoint]}
    return urlencode(sorted((name, value) for name, value in values.items() if value))


def page_key(host: str, path: str, endpoint: str, args: Mapping[str, str]) -> str:
    """The host is part of it: pages hold absolute URLs (canonical, og:url) built from it."""
    return f"page:{host}{path}?{normalised_query(endpoint, args)}"
