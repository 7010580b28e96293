"""Cached pages: the edge's copies for anonymous visitors, the app's for members.

Anonymous visitors' pages (home, search, city and category pages, event pages) are cached by
the edge, nginx (deploy/nginx/), as the app's `Cache-Control` headers allow (edge.py); the app
purges an event's page at the edge after every change it shows.

For signed-in members the app keeps the shared part of those pages itself, with the personal
parts rendered per request (members.py). Each entry records the version tokens it was
rendered under (one for all listings, one for text searches, one per event) and is served
only while they are current; `invalidate_event()`, `invalidate_listings()` and
`invalidate_text_searches()` bump them (versions.py), so an event's page is fresh at once and
listings are at most PAGE_CACHE_SECONDS old (seats left on their cards).
"""

from eventmate.pagecache.versions import (
    invalidate_event,
    invalidate_listings,
    invalidate_text_searches,
)

__all__ = ["init_app", "invalidate_event", "invalidate_listings", "invalidate_text_searches"]


def init_app(app) -> None:
    from eventmate.pagecache import edge, members

    edge.init_app(app)
    members.init_app(app)
