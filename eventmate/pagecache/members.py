"""Pages for signed-in members: the shared page cached, the personal parts rendered.

A member's home, search, city, category or event page is the anonymous page plus a few
personal parts, each a template in templates/_personal/: the header's navigation (name, "My
bookings", the log-out form and its CSRF token) and flash messages on every page (base.html),
and on an event page the booking form (CSRF and one-time request tokens) and the member's own
review. On a miss the page is rendered with a marker in their place (`personal_marker`); that
skeleton is stored (same key and version tokens as the anonymous page cache, so the same
invalidation), and the markers are filled in for this member. On a hit only the small parts
are rendered: no page queries, no page template. Measured: a signed-in search or event page
cost 5-8 ms of a worker's CPU, mostly queries, ORM loading and the page template
(loadtest/RESULTS.md).

A part that needs page data on a hit (the booking form needs the event's slug and seats left)
gets what the view kept with `keep_for_personal_parts` while the skeleton was rendered, stored
beside it: the same version tokens, so never staler than the skeleton.

Nothing personal is stored: the skeleton holds no CSRF token, no name, no flash; a page that
carries the request's CSP nonce is not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from flask import current_app, g, render_template, request
from flask_login import current_user
from markupsafe import Markup

from eventmate.extensions import cache
from eventmate.pagecache.canonical import is_canonical_request
from eventmate.pagecache.keys import CHANGES_AT, entry_seconds, page_key, version_keys
from eventmate.pagecache.versions import current_entry

EVERY_PAGE = ("nav", "flashes")  # base.html's personal parts
CAPTURING = "rendering_member_skeleton"  # g attribute: markers instead of personal parts
KEPT = "member_page_facts"  # g attribute: what the view kept for its personal parts

PartsContext = Callable[[dict | None], dict]


def _marker(name: str) -> str:
    return f"<!--personal:{name}-->"


def capturing_shared_page() -> bool:
    """Template global (and for views): is this render the shared skeleton of a member page?"""
    return bool(g.get(CAPTURING))


def personal_marker(name: str) -> Markup:
    """Template global: where personal part `name` goes in the skeleton."""
    return Markup(_marker(name))


def keep_for_personal_parts(facts: dict) -> None:
    """For a view rendering a skeleton: plain values its personal parts will need on a hit."""
    setattr(g, KEPT, facts)


def init_app(app) -> None:
    app.add_template_global(capturing_shared_page)
    app.add_template_global(personal_marker)


def shared_for_members(parts: tuple[str, ...] = (), context: PartsContext | None = None):
    """For a page view: serve signed-in members the cached skeleton when there is one.

    `parts` are the view's own personal parts (besides EVERY_PAGE); `context` turns what the
    view kept into their template context."""
    names = EVERY_PAGE + parts

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            config = current_app.config
            if config["PAGE_CACHE_SECONDS"] <= 0 or not current_user.is_authenticated:
                return view(*args, **kwargs)
            query = request.query_string.decode("latin-1")
            key = "member-" + page_key(request.host, request.path, query)
            tokens = version_keys(request.endpoint, kwargs, request.args)
            entry, versions = current_entry("member-page", key, tokens)
            if entry is not None:
                return _filled(entry["html"], names, context, entry.get("facts"))
            setattr(g, CAPTURING, True)
            try:
                skeleton = view(*args, **kwargs)
            finally:
                setattr(g, CAPTURING, False)
            facts = g.pop(KEPT, None)
            if not isinstance(skeleton, str):  # a redirect or a response of its own
                return skeleton
            now = datetime.now(UTC)
            seconds = entry_seconds(config, request.endpoint, g.get(CHANGES_AT), now)
            # (A timeout of 0 would mean "forever".)
            if seconds > 0 and is_canonical_request() and _storable(skeleton):
                entry = {"versions": versions, "html": skeleton, "facts": facts}
                cache.set(key, entry, timeout=seconds)
            return _filled(skeleton, names, context, facts)

        return wrapper

    return decorator


def _storable(html: str) -> bool:
    nonce = getattr(request, "csp_nonce", "")
    return not (nonce and nonce in html)


def _filled(html: str, names: tuple[str, ...], context: PartsContext | None, facts) -> str:
    values = None
    for name in names:
        marker = _marker(name)
        if marker not in html:  # e.g. no booking form on a sold-out event's page
            continue
        if values is None:
            values = context(facts) if context else {}
        html = html.replace(marker, render_template(f"_personal/{name}.html", **values), 1)
    return html
