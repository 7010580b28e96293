"""Anonymous cache hits answered in front of Flask.

Measured on a cache hit going through Flask (py-spy, one gevent worker): the limiter's check
was 21% of the time, the cache lookup 10%, and Flask's request context, `before_request` and
`after_request` machinery (Talisman, CSRF, sessions, compression) most of the rest. Here a hit
costs the two things that must happen (the rate-limit hit and one cache round trip) plus
building the response from what was stored:

- the same rate limit as Flask-Limiter's default, on the same key, so both paths count
  together; over the limit, or with any doubt (an error), the request goes on to Flask, which
  answers it the normal way (a 429 page, the uncached page);
- the headers the page was first served with (every security header), with a fresh CSP nonce,
  request id and Server-Timing; the body precompressed in the encoding the client accepts.

Anything that isn't a plain anonymous GET/HEAD of a cacheable page over the right scheme goes
to Flask untouched.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable

from flask import Flask
from limits import parse
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header, parse_etags
from werkzeug.wrappers import Request

from eventmate.monitoring.metrics import CACHE_LOOKUPS
from eventmate.monitoring.request_context import incoming_or_new, record_request
from eventmate.pagecache.keys import CACHEABLE, page_key, version_keys
from eventmate.pagecache.onetrip import count_and_fetch

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
ENCODINGS = ("br", "gzip")
NONCE_IN_CSP = re.compile(r"'nonce-[^']*'")
MISS = "eventmate.page_cache"  # environ key: the key and versions a miss should be stored under
COUNTED = "eventmate.rate_limit_counted"  # environ key: this request was already counted


def counted_here() -> bool:
    """Flask-Limiter request filter: the fast path already counted this request."""
    from flask import request

    return bool(request.environ.get(COUNTED))


class CachedPages:
    """WSGI middleware in front of the Flask app (inside ProxyFix, so it sees the client)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.flask_app = app
        self.wsgi_app = wsgi_app
        self.default_limit = parse(app.config["RATELIMIT_DEFAULT"])

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            hit = self._lookup(environ)
        except Exception:  # a cache or limiter problem: Flask's path knows how to degrade
            self.flask_app.logger.warning("page cache fast path failed", exc_info=True)
            hit = None
        if hit is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = hit
        seconds = time.perf_counter() - started
        headers.append(("Server-Timing", f"app;dur={seconds * 1000:.2f}"))
        record_request("page-cache", environ["REQUEST_METHOD"], int(status[:3]), seconds)
        start_response(status, headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _lookup(self, environ: dict):
        config = self.flask_app.config
        if (
            config["PAGE_CACHE_SECONDS"] <= 0
            or environ["REQUEST_METHOD"] not in ("GET", "HEAD")
            or f"{config['SESSION_COOKIE_NAME']}=" in environ.get("HTTP_COOKIE", "")
            or (config["FORCE_HTTPS"] and environ["wsgi.url_scheme"] != "https")
        ):
            return None
        try:
            endpoint, view_args = self.flask_app.url_map.bind_to_environ(environ).match()
        except HTTPException:  # 404, or a redirect to the canonical URL: Flask's job
            return None
        if endpoint not in CACHEABLE:
            return None
        request = Request(environ)
        key = page_key(request.host, request.path, endpoint, request.args)
        tokens = version_keys(endpoint, view_args, request.args)
        within, values = self._count_and_fetch(environ, endpoint, [key, *tokens])
        if not within or values is None:  # Flask answers the 429 page, or serves it uncached
            return None
        entry, versions = judged("page", values)
        if entry is None:
            environ[MISS] = (key, versions)
            return None
        return self._response(request, entry)

    def _count_and_fetch(self, environ: dict, endpoint: str, keys: list[str]):
        """(within the rate limit, the cached values of `keys`): one Redis round trip when the
        limiter and the cache share one Redis (onetrip.py), two otherwise."""
        from eventmate.extensions import cache, limiter

        config = self.flask_app.config
        if not config.get("RATELIMIT_ENABLED", True):
            return True, cache.get_many(*keys)
        rate_limiter = limiter.limiter
        # Flask-Limiter's key for a default limit: (prefix, client, endpoint).
        identifiers = (config["RATELIMIT_KEY_PREFIX"], environ.get("REMOTE_ADDR") or "127.0.0.1",
                       endpoint)  # fmt: skip
        both = count_and_fetch(rate_limiter, self.default_limit, identifiers, cache.cache, keys)
        if both is None:
            within = rate_limiter.hit(self.default_limit, *identifiers)
            both = within, (cache.get_many(*keys) if within else [])
        # On a miss Flask must not count it again; over the limit, Flask answers the 429.
        environ[COUNTED] = both[0]
        return both

    def _response(self, request: Request, entry: dict) -> tuple[str, list, bytes]:
        accepted = parse_accept_header(request.headers.get("Accept-Encoding"))
        encoding = max(ENCODINGS, key=accepted.quality)
        if accepted.quality(encoding) <= 0:
            encoding = "identity"
        etag = entry["etag"] if encoding == "identity" else f"{entry['etag']}:{encoding}"
        nonce = secrets.token_urlsafe(16)
        headers = [
            (name, NONCE_IN_CSP.sub(f"'nonce-{nonce}'", value))
            if name == "Content-Security-Policy"
            else (name, value)
            for name, value in entry["headers"]
        ]
        headers += [("ETag", f'"{etag}"'), ("X-Cache", "HIT"), _request_id(request)]
        if _matches(request.headers.get("If-None-Match"), etag):
            return "304 NOT MODIFIED", headers, b""
        body = entry["bodies"][encoding]
        if encoding != "identity":
            headers.append(("Content-Encoding", encoding))
        headers.append(("Content-Length", str(len(body))))
        return "200 OK", headers, body


def current_entry(kind: str, key: str, token_keys: list[str]) -> tuple[dict | None, list]:
    """The entry under `key` if it was stored under the current version tokens (one round
    trip for both), and those tokens, to store a fresh entry under on a miss."""
    from eventmate.extensions import cache

    return judged(kind, cache.get_many(key, *token_keys))


def judged(kind: str, values: list) -> tuple[dict | None, list]:
    """`values`: an entry, then the current version tokens (counted as a hit or a miss)."""
    entry, *versions = values
    versions = [version or "0" for version in versions]
    fresh = entry is not None and entry["versions"] == versions
    CACHE_LOOKUPS.labels(kind, "hit" if fresh else "miss").inc()
    return (entry if fresh else None), versions


def _matches(if_none_match: str | None, etag: str) -> bool:
    return bool(if_none_match) and parse_etags(if_none_match).contains(etag)


def _request_id(request: Request) -> tuple[str, str]:
    return "X-Request-ID", incoming_or_new(request.headers.get("X-Request-ID"))
