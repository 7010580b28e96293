"""One cached copy per page, whatever the query string looks like.

Every variant of a URL is a new cache key: `?page=aaaa`, `?utm=1`, `?q=jazz&city=`, a
percent-encoded spelling of the same words. Stored, each one costs a full render and memory
(edge and app alike) for nothing. So a cacheable view states its page's parameters, parsed and
normalised, and its canonical URL is built from them (`canonical_url`, which its own links use
too), encoded exactly as browsers encode a form or a link (`'` as %27, a space as +):
- a request for exactly that URL may be stored (`is_canonical_request`);
- a request whose parameters only *spell* the same page (blanks, order, unknown names,
  encoding) is redirected there, so it costs no render and is then a cache hit;
- a request with invalid values (a notice on the page says what was ignored), or for a page
  past the last, is rendered as asked and stored nowhere.
A view that states nothing (the home page's redirect states no parameters) is canonical only
without a query string. The redirects are 302s with no-store: a browser keeps no redirect
that a later change to the canonical spelling could turn into a loop.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from flask import g, redirect, request, url_for
from werkzeug.wrappers import Response

CANONICAL = "page_is_canonical"  # g attribute


def query_string(params: dict[str, str]) -> str:
    """`params` as browsers encode a form (WHATWG application/x-www-form-urlencoded): only
    letters, digits and `*-._` as they are, a space as +, everything else %XX of its UTF-8."""
    return "&".join(
        f"{quote_plus(name, safe='*')}={quote_plus(value, safe='*')}".replace("~", "%7E")
        for name, value in params.items()
    )


def canonical_url(params: dict[str, str]) -> str:
    """This view's URL with these parameters, in the one spelling page caches keep."""
    path = url_for(request.endpoint, **(request.view_args or {}))
    query = query_string(params)
    return f"{path}?{query}" if query else path


def is_canonical_request() -> bool:
    """May this request's page be stored by a page cache (edge or app)?"""
    return g.get(CANONICAL, not request.query_string)


def served_canonical() -> None:
    """For a page served from a cache, which holds only canonical requests' pages."""
    setattr(g, CANONICAL, True)


def not_canonical() -> None:
    """For a view that finds, after deciding, that the page isn't the one asked for (a page
    number past the last): render it, store it nowhere."""
    setattr(g, CANONICAL, False)


def canonical_redirect(params: dict[str, str], *, invalid: bool = False) -> Response | None:
    """For a cacheable view: a redirect to the canonical URL when this request only spells it
    differently; None when the view should render (canonical, or `invalid` input to explain)."""
    target = canonical_url(params)
    canonical = request.query_string.decode("latin-1") == target.partition("?")[2]
    setattr(g, CANONICAL, canonical)
    if canonical or invalid:
        return None
    response = redirect(target, 302)
    response.headers["Cache-Control"] = "no-store"
    return response
