"""Full-page cache for anonymous visitors (home, search, city and category pages, event pages).

A request without a session cookie to one of those pages is answered from the cache when it
can be: after the rate limit and HTTPS checks have run (they are earlier `before_request`
functions), before the view, the session, the database or the templates are touched. Security
headers still apply on the way out; the body is stored already compressed (brotli, gzip and
plain). A page holding the request's CSP nonce is never stored: a nonce must not be replayed.

Keys are the path plus the query parameters the page reads (sorted; others dropped). An entry
records the version tokens it was rendered under (one for all listings, one per event) and is
fetched with the current tokens in one round trip; it is served only if they still match.
`invalidate_event()` and `invalidate_listings()` bump them (an edit, a booking or
cancellation, a review, an image), so an event's page is fresh at once and listings are at most
PAGE_CACHE_SECONDS old.
"""

from eventmate.pagecache.store import init_app, invalidate_event, invalidate_listings

__all__ = ["init_app", "invalidate_event", "invalidate_listings"]
