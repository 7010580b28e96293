"""robots.txt, sitemaps, error pages, health checks and the booking step."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest

from config import TestConfig
from eventmate import create_app
from tests.factories import make_city, make_event, now

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def test_robots_txt_points_at_the_sitemap(client, db_session):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert "Sitemap: http://localhost/sitemap.xml" in body
    assert "Disallow: /health/" in body


def test_sitemap_lists_active_upcoming_events_only(client, db_session):
    make_city(slug="porto")
    live = make_event(slug="live-one")
    make_event(slug="gone-one", starts_at=now() - timedelta(days=1))
    make_event(slug="hidden-one", is_active=False)
    db_session.commit()

    index = ElementTree.fromstring(client.get("/sitemap.xml").data)
    locations = [loc.text for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS)]
    assert locations == [
        "http://localhost/sitemaps/pages.xml",
        "http://localhost/sitemaps/events-1.xml",
    ]

    events = ElementTree.fromstring(client.get("/sitemaps/events-1.xml").data)
    urls = [loc.text for loc in events.findall("sm:url/sm:loc", SITEMAP_NS)]
    assert urls == [f"http://localhost/events/{live.slug}/"]

    pages = client.get("/sitemaps/pages.xml").get_data(as_text=True)
    assert "http://localhost/cities/porto/" in pages
    assert "http://localhost/categories/music/" in pages


def test_sitemap_event_file_beyond_the_last_is_404(client, db_session):
    assert client.get("/sitemaps/events-1.xml").status_code == 404
    assert client.get("/sitemaps/events-0.xml").status_code == 404


def test_unknown_url_gets_the_site_404_page(client, db_session):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page
    assert "<title>Page not found · EventMate</title>" in page


def test_wrong_method_gets_a_405_page_with_allow_header(client, db_session):
    response = client.post("/events/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Method not allowed" in response.get_data(as_text=True)


def test_500_page_hides_the_traceback(tmp_path):
    app = create_app(TestConfig, instance_path=str(tmp_path))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # let the error handler answer, as in production

    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/_test/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "secret internals" not in page
    assert "Traceback" not in page


def test_health_live_and_ready(client, db_session):
    live = client.get("/health/live/")
    ready = client.get("/health/ready/")
    assert live.status_code == 200
    assert live.json == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json["checks"]["database"] == "ok"


def test_health_ready_reports_redis_when_configured(app, client, db_session):
    if not app.config.get("REDIS_URL"):
        pytest.skip("no Redis configured in this run")
    assert client.get("/health/ready/").json["checks"]["redis"] == "ok"


@pytest.mark.parametrize(
    "url",
    [
        "/events/%00/",
        "/events/" + "a" * 5000 + "/",
        "/events/Not_A_Slug/",
        "/cities/%00/",
        "/sitemaps/events-99999999999999999999.xml",
        "/sitemaps/events--1.xml",
    ],
)
def test_malformed_paths_are_404_not_500(client, db_session, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=jazz%00night", "city=%00", "from=2026%0012-01", "page=%00", "sort=%00"],
)
def test_control_characters_in_the_query_string_are_harmless(client, db_session, query):
    make_event(title="Jazz Night")
    db_session.commit()
    response = client.get(f"/events/?{query}", follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "%00" not in page  # neither in links nor in the canonical URL
    assert "\x00" not in page
