"""Which pages are cached, and the cache key of a request."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Request

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


def version_keys(request: Request) -> list[str]:
    keys = [LISTINGS_VERSION]
    if request.endpoint == "events.detail":
        keys.append(event_version_key(request.view_args["slug"]))
    return keys


def normalised_query(request: Request) -> str:
    """`?city=x&q=a&utm=1` and `?q=a&city=x` are the same page: known names only, sorted, and
    (like the views) the first value of each, stripped."""
    values = {name: request.args.get(name, "").strip() for name in CACHEABLE[request.endpoint]}
    return urlencode(sorted((name, value) for name, value in values.items() if value))


def page_key(request: Request) -> str:
    return f"page:{request.path}?{normalised_query(request)}"
