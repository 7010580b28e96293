"""Cached pages: whole anonymous pages at the edge, shared pages in the app.

The edge, nginx (deploy/nginx/), keeps anonymous visitors' home, search, city, category and
event pages as the app's `Cache-Control` headers allow, and the app purges an event's page
there after every change it shows (edge.py). Everything the edge passes on (members' pages,
first visits; everyone when there is no edge) is composed in the app from a shared page, cached
under version tokens (eventmate/caching.py), and per-request personal parts (pages.py). Only a
page's canonical URL is ever stored (canonical.py); keys.py says which pages and how long.
"""


def init_app(app) -> None:
    from eventmate.pagecache import edge, pages

    edge.init_app(app)
    pages.init_app(app)
