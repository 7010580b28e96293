"""Serving, storing and invalidating cached pages (see the package docstring)."""

from __future__ import annotations

import hashlib
import uuid

from flask import Flask, Response, current_app, g, request, session

from eventmate.extensions import cache
from eventmate.pagecache.keys import (
    CACHEABLE,
    LISTINGS_VERSION,
    event_version_key,
    page_key,
    version_keys,
)

NONCE_PLACEHOLDER = b"__eventmate_csp_nonce__"


def init_app(app: Flask) -> None:
    """Call after the limiter and Talisman, so that their before_request checks (rate limit,
    HTTPS redirect, the nonce) run before a cached page is served."""
    app.before_request(serve_cached_page)
    app.after_request(store_page)


def _cacheable_request() -> bool:
    return (
        current_app.config["PAGE_CACHE_SECONDS"] > 0
        and request.method in ("GET", "HEAD")
        and request.endpoint in CACHEABLE
        # Anyone with a session (signed in, or holding a form's CSRF token) gets a fresh page.
        and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
    )


def serve_cached_page() -> Response | None:
    if not _cacheable_request():
        return None
    versions = cache.get_many(*version_keys(request))
    key = page_key(request, [v or "0" for v in versions])
    entry = cache.get(key)
    if entry is None:
        g.page_cache_key = key
        return None
    unchanged = _not_modified(entry["etag"])
    if unchanged is not None:
        return unchanged
    response = _page_response(entry["body"], entry["content_type"], entry["etag"])
    response.headers["X-Cache"] = "HIT"
    return response


def store_page(response: Response) -> Response:
    key = g.pop("page_cache_key", None)
    if key is None:
        return response
    response.headers["X-Cache"] = "MISS"
    if not _shareable(response):
        return response
    nonce = getattr(request, "csp_nonce", "").encode()
    body = response.get_data()
    if nonce:
        body = body.replace(nonce, NONCE_PLACEHOLDER)
    etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    entry = {"body": body, "content_type": response.content_type, "etag": etag}
    cache.set(key, entry, timeout=current_app.config["PAGE_CACHE_SECONDS"])
    response.set_etag(etag)
    response.cache_control.no_cache = True
    response.make_conditional(request)
    return response


def _shareable(response: Response) -> bool:
    """Only a complete page that is the same for every anonymous visitor."""
    return (
        response.status_code == 200
        and response.mimetype == "text/html"
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
        and not session  # e.g. a CSRF token or a flash message was put in the session
        and not session.modified
    )


def _not_modified(etag: str) -> Response | None:
    """A 304 straight away when the browser has this page in any encoding (compression adds
    the encoding to the ETag)."""
    for candidate in (f"{etag}:br", f"{etag}:gzip", etag):
        if request.if_none_match.contains(candidate):
            response = Response(status=304)
            response.set_etag(candidate)
            response.cache_control.no_cache = True
            response.headers["X-Cache"] = "HIT"
            return response
    return None


def _page_response(body: bytes, content_type: str, etag: str) -> Response:
    nonce = getattr(request, "csp_nonce", "")
    response = Response(body.replace(NONCE_PLACEHOLDER, nonce.encode()), content_type=content_type)
    response.set_etag(etag)
    response.cache_control.no_cache = True  # browsers may keep it, but ask (304) each time
    return response.make_conditional(request)


def invalidate_event(*slugs: str) -> None:
    """The event's own pages change now (seats left, details, images, reviews)."""
    for slug in slugs:
        cache.set(event_version_key(slug), uuid.uuid4().hex[:12], timeout=0)


def invalidate_listings() -> None:
    """Every listing page (home, search, city, category): an event appeared, moved, or went."""
    cache.set(LISTINGS_VERSION, uuid.uuid4().hex[:12], timeout=0)
