"""Listing pages for signed-in members: the shared page cached, the personal parts rendered.

A member's home, search, city or category page is the anonymous page plus two personal
parts: the header's navigation (name, "My bookings", the log-out form and its CSRF token) and
flash messages, base.html's two includes of templates/_personal/. On a miss the page is
rendered with a marker in their place (`personal_marker`); that skeleton is stored (same key
and version tokens as the anonymous page cache, so the same invalidation), and the markers
are filled in for this member. On a hit only the two small parts are rendered: no search
queries, no page template. Measured: a signed-in search page cost ~6 ms of a worker's CPU,
mostly queries, ORM loading and the page template (loadtest/RESULTS.md).

Nothing personal is stored: the skeleton holds no CSRF token, no name, no flash; a page that
carries the request's CSP nonce is not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, render_template, request
from flask_login import current_user
from markupsafe import Markup

from eventmate.extensions import cache
from eventmate.pagecache.fastpath import current_entry
from eventmate.pagecache.keys import page_key

PARTS = {"nav": "_personal/nav.html", "flashes": "_personal/flashes.html"}
CAPTURING = "rendering_member_skeleton"  # g attribute: markers instead of personal parts


def _marker(name: str) -> str:
    return f"<!--personal:{name}-->"


def capturing_shared_page() -> bool:
    """Template global: is this render the shared skeleton of a member page?"""
    return bool(g.get(CAPTURING))


def personal_marker(name: str) -> Markup:
    """Template global: where personal part `name` goes in the skeleton."""
    return Markup(_marker(name))


def init_app(app) -> None:
    app.add_template_global(capturing_shared_page)
    app.add_template_global(personal_marker)


def shared_for_members(view: Callable) -> Callable:
    """For a listing view: serve signed-in members the cached skeleton when there is one."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_app.config["PAGE_CACHE_SECONDS"] <= 0 or not current_user.is_authenticated:
            return view(*args, **kwargs)
        key = "member-" + page_key(request.host, request.path, request.endpoint, request.args)
        entry, versions = current_entry("member-page", key, request.endpoint, kwargs)
        if entry is not None:
            return _filled(entry["html"])
        setattr(g, CAPTURING, True)
        try:
            skeleton = view(*args, **kwargs)
        finally:
            setattr(g, CAPTURING, False)
        if not isinstance(skeleton, str):  # a redirect or a response of its own
            return skeleton
        if _storable(skeleton):
            cache.set(
                key,
                {"versions": versions, "html": skeleton},
                timeout=current_app.config["PAGE_CACHE_SECONDS"],
            )
        return _filled(skeleton)

    return wrapper


def _storable(html: str) -> bool:
    nonce = getattr(request, "csp_nonce", "")
    return not (nonce and nonce in html)


def _filled(html: str) -> str:
    for name, template in PARTS.items():
        html = html.replace(_marker(name), render_template(template), 1)
    return html
