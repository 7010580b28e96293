"""Home page and the files search engines ask for."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, abort, current_app, render_template, url_for

from eventmate.events import queries
from eventmate.main import bp
from eventmate.models import CATEGORIES
from eventmate.pagecache.canonical import canonical_redirect
from eventmate.pagecache.pages import SharedPage, shared_page
from eventmate.pagination import page_count
from eventmate.replica.routing import reads_from_replica

SITEMAP_EVENTS_PER_FILE = 10_000


@bp.get("/")
@reads_from_replica
@shared_page()
def home():
    elsewhere = canonical_redirect({})  # `/?utm_source=…` is the home page: one cached copy
    if elsewhere is not None:
        return elsewhere
    config = current_app.config
    now = datetime.now(UTC)
    cache_seconds = config["AGGREGATE_CACHE_SECONDS"]
    cities = queries.cities_with_upcoming(now, cache_seconds)
    html = render_template(
        "main/home.html",
        upcoming=queries.upcoming_events(now, config["HOME_UPCOMING_LIMIT"]),
        category_counts=queries.category_counts(now, cache_seconds),
        top_cities=cities[: config["HOME_TOP_CITIES"]],
        city_menu=sorted((city for city, _ in cities), key=lambda city: city.name),
    )
    return SharedPage(html)


@bp.get("/robots.txt")
def robots():
    lines = [
        "User-agent: *",
        "Disallow: /health/",
        "Allow: /",
        f"Sitemap: {url_for('main.sitemap_index', _external=True)}",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/sitemap.xml")
@reads_from_replica
def sitemap_index():
    """A sitemap index: one file of site pages, then event files of 10,000 URLs each."""
    now = datetime.now(UTC)
    upcoming = queries.count_upcoming(now)
    files = page_count(upcoming, SITEMAP_EVENTS_PER_FILE) if upcoming else 0
    body = render_template("main/sitemap_index.xml", event_files=range(1, files + 1), now=now)
    return Response(body, mimetype="application/xml")


@bp.get("/sitemaps/pages.xml")
@reads_from_replica
def sitemap_pages():
    body = render_template(
        "main/sitemap_pages.xml", categories=CATEGORIES, cities=queries.all_cities()
    )
    return Response(body, mimetype="application/xml")


@bp.get("/sitemaps/events-<page:number>.xml")
@reads_from_replica
def sitemap_events(number: int):
    """Event file N holds the Nth block of 10,000 upcoming events, in id order."""
    now = datetime.now(UTC)
    rows = queries.sitemap_event_rows(now, number, SITEMAP_EVENTS_PER_FILE)
    if not rows:
        abort(404)
    body = render_template("main/sitemap_events.xml", rows=rows)
    return Response(body, mimetype="application/xml")
