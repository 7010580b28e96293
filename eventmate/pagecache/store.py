"""Storing and invalidating cached pages (see the package docstring)."""

from __future__ import annotations

import gzip
import hashlib
import uuid
from datetime import UTC, datetime

import brotli
from flask import Flask, Response, current_app, g, request, session

from eventmate.assets import preferred_encoding
from eventmate.extensions import cache, limiter
from eventmate.pagecache import members
from eventmate.pagecache.fastpath import ENCODINGS, MISS, CachedPages, counted_here
from eventmate.pagecache.keys import (
    CHANGES_AT,
    LISTINGS_VERSION,
    TEXT_SEARCH_VERSION,
    entry_seconds,
    event_version_key,
)
from eventmate.resilience import ResilientRedisCache

# Headers that belong to one response, not to the page: the fast path makes its own.
PER_RESPONSE = frozenset(
    {"content-length", "content-encoding", "etag", "x-request-id", "server-timing", "x-cache",
     "date", "set-cookie", "vary"}
)  # fmt: skip


def init_app(app: Flask) -> None:
    """Call before ProxyFix wraps the app (so the fast path sees the client's address) and
    after the limiter is set up."""
    app.wsgi_app = CachedPages(app, app.wsgi_app)
    members.init_app(app)
    if counted_here not in limiter._request_filters:  # one shared Limiter, many test apps
        limiter.request_filter(counted_here)
    # Stored pages are snapshots of the finished response: every security header, but before
    # compression. Flask runs after_request functions last-registered first, and compression
    # (eventmate/assets) puts itself at the very end, so this runs just before it.
    app.after_request_funcs.setdefault(None, []).insert(0, store_page)


def store_page(response: Response) -> Response:
    pending = request.environ.pop(MISS, None)
    if pending is None:
        return response
    key, versions = pending
    response.headers["X-Cache"] = "MISS"
    if not _shareable(response):
        return response
    body = response.get_data()
    etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    response.set_etag(etag)
    response.vary.update(("Accept-Encoding", "Cookie"))  # with a session, the page differs
    response.cache_control.no_cache = True  # browsers may keep it, but ask (304) each time
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in PER_RESPONSE]
    entry = {
        "versions": versions,
        "etag": etag,
        "headers": [*headers, ("Vary", response.headers["Vary"])],
        "bodies": _precompressed(body),
    }
    seconds = entry_seconds(
        current_app.config, request.endpoint, g.get(CHANGES_AT), datetime.now(UTC)
    )
    if seconds > 0:  # (a timeout of 0 would mean "forever")
        cache.set(key, entry, timeout=seconds)
    # This response too is sent compressed as stored (and as hits will be): not compressed
    # a second time by Flask-Compress, which leaves an encoded response alone.
    encoding = preferred_encoding(ENCODINGS)
    if encoding:
        response.set_data(entry["bodies"][encoding])
        response.headers["Content-Encoding"] = encoding
        response.set_etag(f"{etag}:{encoding}")
    return response.make_conditional(request)


def _shareable(response: Response) -> bool:
    """Only a complete page that is the same for every anonymous visitor."""
    nonce = getattr(request, "csp_nonce", "")
    return (
        response.status_code == 200
        and response.mimetype == "text/html"
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
        and not session  # e.g. a CSRF token or a flash message was put in the session
        and not session.modified
        # An inline script's nonce must never be replayed to someone else.
        and not (nonce and nonce.encode() in response.get_data())
    )


def _precompressed(body: bytes) -> dict[str, bytes]:
    """Compressed once when stored, instead of on every hit."""
    config = current_app.config
    return {
        "identity": body,
        "br": brotli.compress(body, quality=config["PAGE_CACHE_BR_LEVEL"]),
        "gzip": gzip.compress(body, compresslevel=config["COMPRESS_LEVEL"], mtime=0),
    }


def invalidate_event(*slugs: str) -> None:
    """The event's own pages change now (seats left, details, images, reviews)."""
    for slug in slugs:
        bump(event_version_key(slug))


def invalidate_listings() -> None:
    """Every listing page (home, search, city, category): an event appeared, moved, or went,
    or what its card shows changed."""
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
