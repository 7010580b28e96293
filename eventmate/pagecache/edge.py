"""What the edge (nginx, deploy/nginx/) may keep, and telling it when an event's page changed.

The app states cacheability with standard headers: an anonymous visitor's home, search, city,
category or event page is `Cache-Control: public, max-age=0, s-maxage=N` (shared caches keep
it N seconds; browsers ask again each time); anything built from session data is `private,
no-store` (eventmate/security). Nothing else says `public`, so the edge stores nothing else.

N is PAGE_CACHE_SECONDS (60) for listings, whose "seats left" may be that old. An event page at
its canonical URL is kept EVENT_PAGE_CACHE_SECONDS (300), never past the event's start,
because after every change it shows (a booking, a cancellation, a review, an image, an edit)
the app purges it at every edge in EDGE_PURGE_URLS, under each host it may be cached for. With
no edge to purge, event pages are kept as briefly as listings.

A purge sent just after the commit can race a render of the old state already in flight at
the edge, which would then store that old page. So the purge is sent again PURGE_AGAIN_AFTER
seconds later, when any such render has finished.
"""

from __future__ import annotations

import http.client
import logging
import threading
import urllib.parse
from datetime import UTC, datetime

from flask import Flask, Response, current_app, g, has_request_context, request, session

from eventmate.pagecache.canonical import is_canonical_request
from eventmate.pagecache.keys import CACHEABLE, CHANGES_AT, entry_seconds

log = logging.getLogger(__name__)

# The edge keys a page by encoding too (br, gzip or none: deploy/nginx/nginx.conf.j2).
ENCODINGS = ("br", "gzip", "")
PURGE_TIMEOUT = 1.0  # seconds per edge: a purge must never hold up a booking for long
PURGE_AGAIN_AFTER = 2.0  # seconds; far longer than a page takes to render


def init_app(app: Flask) -> None:
    app.after_request(mark_shareable)


def mark_shareable(response: Response) -> Response:
    """`public, s-maxage` on a page that is the same for every anonymous visitor."""
    if request.endpoint not in CACHEABLE or not _shareable(response):
        return response
    config = current_app.config
    purged = bool(config["EDGE_PURGE_URLS"]) and not request.query_string
    endpoint = request.endpoint if purged else "listing"
    seconds = entry_seconds(config, endpoint, g.get(CHANGES_AT), datetime.now(UTC))
    if seconds > 0:
        response.cache_control.public = True
        response.cache_control.max_age = 0
        response.cache_control.s_maxage = seconds
    return response


def _shareable(response: Response) -> bool:
    nonce = getattr(request, "csp_nonce", "")
    return (
        current_app.config["PAGE_CACHE_SECONDS"] > 0
        and request.method in ("GET", "HEAD")
        and response.status_code == 200
        and is_canonical_request()  # one copy per page, not one per spelling of its URL
        and response.mimetype == "text/html"
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
        and "Cache-Control" not in response.headers
        and not session  # e.g. a CSRF token or a flash message was put in the session
        and not session.modified
        # An inline script's nonce must never be replayed to someone else.
        and not (nonce and nonce.encode() in response.get_data())
    )


def purge_event_pages(*slugs: str) -> None:
    """Drop the edges' copies of these events' pages (now, and once more a little later)."""
    config = current_app.config
    if not config["EDGE_PURGE_URLS"] or not slugs:
        return
    adapter = current_app.url_map.bind("localhost")
    paths = [adapter.build("events.detail", {"slug": slug}) for slug in slugs]
    targets = [(edge, host, path) for edge in config["EDGE_PURGE_URLS"]
               for host in _hosts(config) for path in paths]  # fmt: skip
    send_purges(targets)
    again = threading.Timer(PURGE_AGAIN_AFTER, send_purges, (targets,))
    again.daemon = True
    again.start()


def _hosts(config) -> list[str]:
    """The host names pages are cached under: SITE_HOSTS, and the one this request came by."""
    hosts = list(config["SITE_HOSTS"])
    if has_request_context():
        name = urllib.parse.urlsplit(f"//{request.host}").hostname
        if name and name not in hosts:
            hosts.append(name)
    return hosts


def send_purges(targets: list[tuple[str, str, str]]) -> int:
    """PURGE each (edge, host, path) in every encoding; returns how many entries went. An edge
    that can't be reached is logged, never raised: the change is committed, and the page
    expires by itself."""
    purged = 0
    by_edge: dict[str, list[tuple[str, str]]] = {}
    for edge, host, path in targets:
        by_edge.setdefault(edge, []).append((host, path))
    for edge, pages in by_edge.items():
        url = urllib.parse.urlsplit(edge)
        connection = http.client.HTTPConnection(url.hostname, url.port or 80, PURGE_TIMEOUT)
        try:
            for host, path in pages:
                for encoding in ENCODINGS:
                    purged += _purge(connection, host, path, encoding)
        except (OSError, http.client.HTTPException) as error:
            log.warning("edge purge failed at %s: %s", edge, error)
        finally:
            connection.close()
    return purged


def _purge(connection: http.client.HTTPConnection, host: str, path: str, encoding: str) -> int:
    headers = {"Host": f"[{host}]" if ":" in host else host, "Accept-Encoding": encoding}
    connection.request("PURGE", path, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status not in (200, 404):  # 404: that variant wasn't cached
        log.warning("edge purge of %s%s answered %s", host, path, response.status)
    return response.status == 200
