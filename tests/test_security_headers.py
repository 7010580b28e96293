"""Security headers on every kind of response, and HTTPS redirects in production."""

import re

import pytest

from config import ProductionConfig
from eventmate import create_app
from tests.factories import make_event

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def assert_secure_headers(response):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_every_kind_of_response_carries_the_headers(client, db_session):
    event = make_event()
    db_session.commit()
    responses = {
        "page": client.get("/"),
        "event": client.get(f"/events/{event.slug}/"),
        "404": client.get("/nope/"),
        "405": client.post("/events/"),
        "redirect": client.get("/me/bookings/"),
        "static": client.get("/static/css/site.css"),
        "health": client.get("/health/live/"),
        "ics": client.get(f"/events/{event.slug}/calendar.ics"),
    }
    for kind, response in responses.items():
        response.close()
        assert response.status_code < 500, kind
        assert_secure_headers(response)


def test_pages_have_no_inline_script_to_run(client, db_session):
    """The only inline <script> is the event's JSON-LD, a data block that browsers never run
    (so CSP's script-src doesn't apply and it needs no nonce); that keeps anonymous pages free
    of per-response nonces, so they can be cached and shared."""
    event = make_event()
    db_session.commit()
    for url in ("/", "/events/", f"/events/{event.slug}/"):
        page = client.get(url).get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", page):
            assert 'src="/' in tag or tag == '<script type="application/ld+json">', tag
    assert '<script type="application/ld+json">' in page


@pytest.fixture
def production_client(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "p" * 48)
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("SITE_HOSTS", "localhost")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.db")
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app(ProductionConfig, instance_path=str(tmp_path))
    return app.test_client()


def test_production_redirects_http_to_https_but_not_health_checks(production_client):
    # (The test client would follow PREFERRED_URL_SCHEME=https; ask over plain HTTP.)
    page = production_client.get("/events/", base_url="http://localhost")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("https://")

    probe = production_client.get("/health/live/", base_url="http://localhost")
    assert probe.status_code == 200
    assert probe.json == {"status": "ok"}


def test_production_sends_hsts_over_https(production_client):
    response = production_client.get("/health/live/", base_url="https://localhost")
    hsts = response.headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts
    assert "includeSubDomains" in hsts


def test_personal_and_form_pages_are_never_shared_cache_material(client, db_session, login):
    from tests.factories import make_member

    anonymous_home = client.get("/")
    assert "no-store" not in anonymous_home.headers.get("Cache-Control", "")
    assert client.get("/login/").headers["Cache-Control"] == "private, no-store"

    login(make_member())
    for path in ("/", "/me/bookings/", "/events/"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "private, no-store", path
        assert "Cookie" in response.headers.get("Vary", ""), path
