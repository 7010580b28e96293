"""One cached copy per page, whatever the query string looks like.

Every variant of a URL is a new cache key: `?page=aaaa`, `?utm=1`, `?q=jazz&city=`, a
percent-encoded spelling of the same words. Stored, each one costs a full render and memory
(edge and app alike) for nothing. So a cacheable view states its page's canonical query string
(the one its own links use, built by `url_for` from its parsed, normalised parameters) and:
- a request for exactly that URL may be stored (`is_canonical_request`);
- a request whose parameters only *spell* the same page (blanks, order, unknown names,
  encoding) is redirected there, so it costs no render and is then a cache hit;
- a request with invalid values (a notice on the page says what was ignored) is rendered as
  asked and stored nowhere.
A view that states nothing (the home page) is canonical only without a query string.
"""

from __future__ import annotations

from flask import g, redirect, request, url_for
from werkzeug.wrappers import Response

CANONICAL = "page_is_canonical"  # g attribute


def is_canonical_request() -> bool:
    """May this request's page be stored by a page cache (edge or app)?"""
    return g.get(CANONICAL, not request.query_string)


def canonical_redirect(params: dict[str, str], *, invalid: bool = False) -> Response | None:
    """For a cacheable view: a redirect to the canonical URL when this request only spells it
    differently; None when the view should render (canonical, or `invalid` input to explain)."""
    target = url_for(request.endpoint, **(request.view_args or {}), **params)
    canonical = request.query_string.decode("latin-1") == target.partition("?")[2]
    setattr(g, CANONICAL, canonical)
    if canonical or invalid:
        return None
    return redirect(target, 301)
