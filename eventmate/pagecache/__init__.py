"""Full-page cache for anonymous visitors (home, search, city and category pages, event pages).

A request without a session cookie to one of those pages is answered from the cache when it
can be, by WSGI middleware in front of Flask (fastpath.py): the rate limit is checked, then
the stored page is sent with the headers it was first served with (every security header, a
fresh CSP nonce) and its body already compressed (brotli, gzip and plain). On a miss Flask
renders the page and `store_page` keeps it. A page holding the request's CSP nonce is never
stored: a nonce must not be replayed.

Keys are the path plus the query parameters the page reads (sorted; others dropped). An entry
records the version tokens it was rendered under (one for all listings, one per event) and is
fetched with the current tokens in one round trip; it is served only if they still match.
`invalidate_event()`, `invalidate_listings()` and `invalidate_text_searches()` bump them (an
edit, a booking or cancellation, a review, an image), so an event's page is fresh at once and
listings are at most PAGE_CACHE_SECONDS old (seats left on their cards). An event page depends
on its own event only, so it is kept longer (EVENT_PAGE_CACHE_SECONDS), never past the
event's start.
"""

from eventmate.pagecache.store import (
    init_app,
    invalidate_event,
    invalidate_listings,
    invalidate_text_searches,
)

__all__ = ["init_app", "invalidate_event", "invalidate_listings", "invalidate_text_searches"]
