"""Serving, storing and invalidating cached pages (see the package docstring)."""

from __future__ import annotations

import gzip
import hashlib
import uuid

import brotli
from flask import Flask, Response, current_app, g, request, session

from eventmate.assets import preferred_encoding
from eventmate.extensions import cache
from eventmate.pagecache.keys import (
    CACHEABLE,
    LISTINGS_VERSION,
    event_version_key,
    page_key,
    version_keys,
)

ENCODINGS = ("br", "gzip")


def init_app(app: Flask) -> None:
    """Call after the limiter and Talisman, so that their before_request checks (rate limit,
    HTTPS redirect) run before a cached page is served."""
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
    key = page_key(request)
    # One round trip: the page and the versions it must have been rendered under.
    entry, *versions = cache.get_many(key, *version_keys(request))
    versions = [version or "0" for version in versions]
    if entry is None or entry["versions"] != versions:
        g.page_cache = (key, versions)
        return None
    return _cached_response(entry)


def _cached_response(entry: dict) -> Response:
    encoding = preferred_encoding(ENCODINGS) or "identity"
    etag = entry["etag"] if encoding == "identity" else f"{entry['etag']}:{encoding}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(entry["bodies"][encoding], content_type=entry["content_type"])
        if encoding != "identity":
            response.headers["Content-Encoding"] = encoding
    response.set_etag(etag)
    response.vary.update(("Accept-Encoding", "Cookie"))  # with a session, the page differs
    response.cache_control.no_cache = True  # browsers may keep it, but ask (304) each time
    response.headers["X-Cache"] = "HIT"
    return response


def store_page(response: Response) -> Response:
    pending = g.pop("page_cache", None)
    if pending is None:
        return response
    key, versions = pending
    response.headers["X-Cache"] = "MISS"
    if not _shareable(response):
        return response
    body = response.get_data()
    etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    entry = {
        "versions": versions,
        "etag": etag,
        "content_type": response.content_type,
        "bodies": _precompressed(body),
    }
    cache.set(key, entry, timeout=current_app.config["PAGE_CACHE_SECONDS"])
    response.set_etag(etag)
    response.vary.add("Cookie")
    response.cache_control.no_cache = True
    response.make_conditional(request)
    return response


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
        cache.set(event_version_key(slug), uuid.uuid4().hex[:12], timeout=0)


def invalidate_listings() -> None:
    """Every listing page (home, search, city, category): an event appeared, moved, or went."""
    cache.set(LISTINGS_VERSION, uuid.uuid4().hex[:12], timeout=0)
