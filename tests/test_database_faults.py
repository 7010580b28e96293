"""PostgreSQL going away under a running app: a server of our own, stopped and restarted."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from eventmate.extensions import db
from eventmate.models import Booking
from tests.conftest import PASSWORD, app_for_database, booking_form, sign_in
from tests.factories import make_event, make_member
from tests.pg_server import PostgresServer, postgres_bindir


@pytest.fixture(scope="module")
def postgres_server():
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL's binaries are missing: scripts/test installs them")
    # Not pytest's tmp_path: its parent is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="eventmate-pg-"))
    server = PostgresServer(bindir, folder)
    server.init()
    server.start()
    yield server
    if server.is_running():
        server.stop("immediate")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def site(postgres_server, tmp_path_factory):
    """An app on the private server, migrated, with a member and an event."""
    from flask_migrate import upgrade

    with app_for_database(postgres_server.url, str(tmp_path_factory.mktemp("pg-site"))) as app:
        with app.app_context():
            upgrade()
            member = make_member(email="paula@example.com", password=PASSWORD)
            event = make_event(capacity=50)
            db.session.commit()
            app.config["FAULT_EVENT_SLUG"] = event.slug
            app.config["FAULT_MEMBER_ID"] = member.id
        yield app


@pytest.fixture
def running(postgres_server):
    """Every test starts and ends with the server up."""
    if not postgres_server.is_running():
        postgres_server.start()
    yield postgres_server
    if not postgres_server.is_running():
        postgres_server.start()


def pages(app) -> list[str]:
    return ["/", "/events/", f"/events/{app.config['FAULT_EVENT_SLUG']}/"]


def cached_pages(app) -> list[str]:
    """What the page cache keeps of pages(): event pages only in a cache every process shares."""
    return pages(app) if app.config["CACHE_IS_SHARED"] else pages(app)[:2]


def uncached_pages(app) -> list[str]:
    others = ["/events/?when=today", f"/events/{app.config['FAULT_EVENT_SLUG']}/?reviews=1"]
    return [page for page in pages(app) if page not in cached_pages(app)] + others


def test_database_down_gives_a_friendly_503_and_ready_names_it(site, running):
    client = site.test_client()
    for path in pages(site):
        assert client.get(path).status_code == 200

    running.stop()
    for path in cached_pages(site):  # already rendered: served from the page cache
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Log in" in response.get_data(as_text=True)
    for path in uncached_pages(site):
        response = client.get(path)
        assert response.status_code == 503, path
        page = response.get_data(as_text=True)
        assert "reach its database" in page
        assert "Traceback" not in page
        assert "psycopg2" not in page
        assert response.headers["Retry-After"] == "30"
        assert "Content-Security-Policy" in response.headers
    ready = client.get("/health/ready/")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"] == "failing"
    assert client.get("/health/live/").status_code == 200


def test_signed_in_member_sees_the_503_page_not_a_500(site, running):
    client = site.test_client()
    sign_in(client, "paula@example.com")
    assert "Log out" in client.get("/").get_data(as_text=True)

    running.stop()
    response = client.get("/me/bookings/")  # loading the member needs the database
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "reach its database" in page
    assert "Log out" not in page  # the member couldn't be read: no half-signed-in header


def test_booking_while_database_is_down_fails_cleanly_and_works_after(site, running):
    client = site.test_client()
    event_url = f"/events/{site.config['FAULT_EVENT_SLUG']}/"
    form = booking_form(client, "paula@example.com", event_url, quantity=2)

    running.stop()
    refused = client.post(f"{event_url}book/", data=form)
    assert refused.status_code == 503
    assert "Nothing you sent was lost or half-saved" in refused.get_data(as_text=True)

    running.start()
    assert _bookings_of_member(site) == 0
    booked = client.post(f"{event_url}book/", data=form)  # the same form, resubmitted
    assert booked.status_code == 303
    assert _bookings_of_member(site) == 1


def test_restart_while_the_app_runs_then_every_request_succeeds(site, running):
    client = site.test_client()
    for path in pages(site):  # fill the pool with connections the restart will kill
        assert client.get(path).status_code == 200

    running.stop()
    running.start()
    statuses = [client.get(path).status_code for _ in range(5) for path in pages(site)]
    assert statuses == [200] * len(statuses)
    assert client.get("/health/ready/").status_code == 200


def test_a_request_kept_waiting_for_a_pooled_connection_gets_the_503(
    site, running, tmp_path, monkeypatch
):
    """DB_POOL_TIMEOUT: with every pooled connection in use a request waits that long, then
    gets the friendly 503 (not a 500), and the next one is served once a connection is free."""
    from config import Config, TestConfig
    from eventmate import create_app

    class OneConnection(TestConfig):
        @classmethod
        def settings_from_env(cls, environ, instance_path):
            settings = super().settings_from_env(environ, instance_path)
            # The pool that DB_POOL_SIZE=1 and DB_POOL_TIMEOUT=1 give a deployment. (Whole
            # seconds: Flask-SQLAlchemy's engine_from_config makes pool_timeout an int.)
            deployment = Config.settings_from_env(
                {"DATABASE_URL": running.url, "SECRET_KEY": "x" * 40,
                 "DB_POOL_SIZE": "1", "DB_POOL_TIMEOUT": "1"},
                instance_path,
            )  # fmt: skip
            settings["SQLALCHEMY_ENGINE_OPTIONS"] = deployment["SQLALCHEMY_ENGINE_OPTIONS"]
            return settings

    monkeypatch.setenv("TEST_DATABASE_URL", running.url)
    app = create_app(OneConnection, instance_path=str(tmp_path))
    client = app.test_client()
    path = "/events/?q=pool"  # a page nobody asked for yet: not in the page cache
    with app.app_context():
        try:
            held = db.engine.connect()  # the pool's only connection, busy elsewhere
            started = time.monotonic()
            response = client.get(path)
            waited = time.monotonic() - started
            held.close()
            assert response.status_code == 503
            assert "reach its database" in response.get_data(as_text=True)
            assert response.headers["Retry-After"] == "30"
            assert 1 <= waited < 20  # it queued for DB_POOL_TIMEOUT, not SQLAlchemy's 30 s
            assert client.get(path).status_code == 200
        finally:
            db.engine.dispose()


def _bookings_of_member(app) -> int:
    with app.app_context():
        member_id = app.config["FAULT_MEMBER_ID"]
        count = db.session.query(Booking).filter_by(user_id=member_id).count()
        db.session.remove()
        return count
