"""Full-page cache for anonymous visitors (home, search, city and category pages, event pages).

A request without a session cookie to one of those pages is answered from the cache when it
can be: after the rate limit and HTTPS checks have run (they are earlier `before_request`
functions), before the view, the session, the database or the templates are touched. Security
headers and compression still apply on the way out. A cached body keeps a placeholder where the
CSP nonce was, and each response gets a fresh nonce.

Keys are the path plus the query parameters the page reads (sorted; others dropped), under
version tokens: one for all listings, one per event. `invalidate_event()` and
`invalidate_listings()` bump them (an edit, a booking or cancellation, a review, an image),
so an event's page is fresh at once and listings are at most PAGE_CACHE_SECONDS old.
"""

from eventmate.pagecache.store import init_app, invalidate_event, invalidate_listings

__all__ = ["init_app", "invalidate_event", "invalidate_listings"]
