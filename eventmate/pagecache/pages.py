"""Cacheable pages: one render path, for every visitor, on a hit and on a miss.

A cacheable page (home, search, city, category and event pages: keys.CACHEABLE) is the same
for everyone but for a few personal parts, each a template in templates/_personal/: the
header's navigation (the member's name, "My bookings", the log-out form and its CSRF token)
and flash messages (templates/_shared_page.html), and on an event page the booking form and
the member's own review. The page's template puts a marker where each goes
(`personal_marker`); the view returns the rendered page with the facts those parts need
(`SharedPage`); `shared_page` fills the markers for this visitor. That is the only path:
anonymous or signed in, the shared page fresh from the view or from the cache, the personal
parts are rendered the same way, from the same facts.

The shared page is cached (caching.cached, kind "page") under its canonical URL (keys.py) and
version tokens: an event page under its event's token, for EVENT_PAGE_CACHE_SECONDS but never
past the event's start; a listing under LISTINGS (and TEXT_SEARCH for a text search), for
PAGE_CACHE_SECONDS, the bound on the seats left its cards show. On a hit the view doesn't run:
the page costs a cache lookup and the personal templates. A page is stored only for a
canonical request (canonical.py) and never with the request's CSP nonce in it; nothing
personal is in it. The edge (nginx, edge.py) keeps whole anonymous pages; this cache serves
what the edge passes on (members, first visits) and, without an edge, everyone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import current_app, g, request
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from eventmate.caching import cached, event_token, listing_tokens
from eventmate.pagecache.canonical import is_canonical_request, served_canonical
from eventmate.pagecache.keys import CHANGES_AT, entry_seconds, page_key

EVERY_PAGE = ("nav", "flashes")  # _shared_page.html's personal parts
PERSONAL_ENVIRONMENT = "eventmate_personal_parts"  # app.extensions key


@dataclass(frozen=True)
class SharedPage:
    """What a cacheable view returns: its page with markers for the personal parts, and the
    plain values (a frozen dataclass, or None) those parts read."""

    html: str
    facts: Any = None
    changes_at: datetime | None = None  # when it changes by itself (an event starting)


def personal_marker(name: str) -> Markup:
    """Template global: where personal part `name` goes."""
    return Markup(f"<!--personal:{name}-->")


def init_app(app) -> None:
    app.add_template_global(personal_marker)


def personal_parts_environment(app) -> Environment:
    """The app's Jinja environment, but a name the personal parts' context lacks is an error,
    not an empty string (they are rendered from a page's facts, possibly cached by an older
    release). A cache of its own: the app's holds templates bound to the lenient one."""
    environment = app.extensions.get(PERSONAL_ENVIRONMENT)
    if environment is None:
        environment = app.jinja_env.overlay(undefined=StrictUndefined, cache_size=50)
        app.extensions[PERSONAL_ENVIRONMENT] = environment
    return environment


def page_tokens(endpoint: str, view_args: Mapping, args: Mapping[str, str]) -> list[str]:
    """An event page shows its own event (and its reviews) only: its token alone."""
    if endpoint == "events.detail":
        return [event_token(view_args["slug"])]
    return listing_tokens(bool(args.get("q", "").strip()))


def shared_page(parts: tuple[str, ...] = (), context: Callable[[Any], dict] | None = None):
    """For a cacheable view returning a SharedPage (or any other response, e.g. a redirect,
    passed on as it is). `parts` are its own personal parts, besides EVERY_PAGE; `context`
    turns the page's facts into their template context."""
    names = EVERY_PAGE + parts

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = page_key(request.host, request.path, request.query_string.decode("latin-1"))
            tokens = page_tokens(request.endpoint, kwargs, request.args)
            seconds = _seconds if current_app.config["PAGE_CACHE_SECONDS"] > 0 else 0
            rendered = []

            def render():
                rendered.append(True)
                return view(*args, **kwargs)

            page = cached("page", key, tokens, render, seconds)
            if not isinstance(page, SharedPage):
                return page
            if not rendered:
                served_canonical()
            setattr(g, CHANGES_AT, page.changes_at)  # for the edge's headers (edge.py)
            return _filled(page, names, context)

        return wrapper

    return decorator


def _seconds(page) -> int:
    """How long this response may be kept; 0: not at all."""
    if not isinstance(page, SharedPage) or not is_canonical_request():
        return 0
    config = current_app.config
    if request.endpoint == "events.detail" and not config["CACHE_IS_SHARED"]:
        return 0  # another process's booking couldn't reach this process's copy
    nonce = getattr(request, "csp_nonce", "")
    if nonce and nonce in page.html:
        return 0
    now = datetime.now(UTC)
    return entry_seconds(config, request.endpoint, page.changes_at, now)


def _filled(page: SharedPage, names: tuple[str, ...], context) -> str:
    """The page with its personal parts rendered in, from one template context (the context
    processors run once, not once per part)."""
    html = page.html
    values = None
    for name in names:
        marker = personal_marker(name)
        if marker not in html:  # e.g. no booking form on a sold-out event's page
            continue
        if values is None:
            values = context(page.facts) if context else {}
            current_app.update_template_context(values)
        template = personal_parts_environment(current_app).get_template(f"_personal/{name}.html")
        part = template.render(values)
        html = html.replace(marker, part, 1)
    return html
