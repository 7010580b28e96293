"""Reads from a streaming replica, writes to the primary (eventmate/replica): a real primary and
a real hot standby of it (pg_basebackup -R), both our own throw-away servers.

Which database a page read is shown by pausing the replica's replay (pg_wal_replay_pause())
and changing a row on the primary: a page from the replica still shows the old value."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config import TestConfig, normalise_database_url
from eventmate import create_app
from eventmate.extensions import cache, db
from eventmate.replica.lag import COOL_DOWN
from tests.conftest import PASSWORD, booking_form, hidden_fields, page_text, sign_in
from tests.factories import make_city, make_event, make_member
from tests.pg_server import PostgresServer, postgres_bindir

postgres = pytest.mark.postgres  # the tests on the servers below

MEMBER = "rita@example.com"
HOST = "harriet@example.com"


@pytest.fixture(scope="module")
def servers(app) -> Iterator[tuple[PostgresServer, PostgresServer]]:
    """A primary and its streaming replica."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL (runs in the PostgreSQL pass of scripts/test)")
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL's binaries are missing: scripts/test installs them")
    # Not pytest's tmp_path: its parent is private to root, and the servers run as postgres.
    folders = [Path(tempfile.mkdtemp(prefix=f"eventmate-{role}-")) for role in ("pg", "replica")]
    primary, replica = (PostgresServer(bindir, folder) for folder in folders)
    primary.init()
    primary.start()
    replica.init_replica_of(primary)
    replica.start()
    yield primary, replica
    for server in (replica, primary):
        if server.is_running():
            server.stop("immediate")
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def site(servers, tmp_path_factory):
    """An app with DATABASE_URL on the primary and DATABASE_REPLICA_URL on the replica, with a
    member, a host and the host's event, replayed on the replica."""
    from flask_migrate import upgrade

    primary, replica = servers
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_DATABASE_URL", primary.url)
        patch.setenv("TEST_DATABASE_REPLICA_URL", replica.url)
        patch.setenv("TEST_KEY_PREFIX", f"em-test-replica-{uuid.uuid4().hex[:8]}")
        app = create_app(TestConfig, instance_path=str(tmp_path_factory.mktemp("replica-site")))
    with app.app_context():
        upgrade()
        make_member(email=MEMBER, password=PASSWORD, display_name="Rita")
        host = make_member(email=HOST, password=PASSWORD, display_name="Harriet", is_host=True)
        city = make_city(name="Porto", slug="porto", timezone="Europe/Lisbon")
        event = make_event(title="Harbour Jazz Night", host=host, city=city, category="music")
        db.session.commit()
        app.config["REPLICA_EVENT_SLUG"] = event.slug
    caught_up(servers)
    yield app
    with app.app_context():
        cache.clear()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def replica_site(site, servers):
    """Each test: replay running and caught up, the cache empty, the replica read however far
    behind it falls while a test pauses it (tests of the lag set their own limit), pages not
    cached (a test of the cache switches it on)."""
    replica = servers[1]
    if not replica.is_running():
        replica.start()
    run_sql(replica, "SELECT pg_wal_replay_resume()")
    caught_up(servers)
    settings = {"REPLICA_MAX_LAG": 3600, "PAGE_CACHE_SECONDS": 0}
    previous = {name: site.config[name] for name in settings}
    site.config.update(settings)
    with site.app_context():
        cache.clear()
    yield site
    site.config.update(previous)


def run_sql(server: PostgresServer, sql: str, **params):
    engine = create_engine(normalise_database_url(server.url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(sql), params)
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def caught_up(servers, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    primary, replica = servers
    ((target,),) = run_sql(primary, "SELECT pg_current_wal_insert_lsn()")
    deadline = time.monotonic() + timeout
    query = "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), :target) >= 0"
    while not run_sql(replica, query, target=str(target))[0][0]:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


@contextmanager
def replay_paused(servers) -> Iterator[None]:
    replica = servers[1]
    run_sql(replica, "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        if replica.is_running():
            run_sql(replica, "SELECT pg_wal_replay_resume()")


def retitle(server: PostgresServer, slug: str, title: str) -> None:
    """A change written straight to the primary, as another app server would."""
    run_sql(server, "UPDATE events SET title = :title WHERE slug = :slug", title=title, slug=slug)


def title_on(server: PostgresServer, slug: str) -> str:
    return run_sql(server, "SELECT title FROM events WHERE slug = :slug", slug=slug)[0][0]


def new_title(servers, slug: str) -> tuple[str, str]:
    """The event gets a title the replica has replayed, then (replay paused by the caller) a
    new one only the primary has: (old, new)."""
    old, new = (f"Harbour Jazz {uuid.uuid4().hex[:6]}" for _ in range(2))
    retitle(servers[0], slug, old)
    caught_up(servers)
    return old, new


def visitor_pages(app) -> list[str]:
    slug = app.config["REPLICA_EVENT_SLUG"]
    return ["/", "/events/", "/events/?q=harbour", "/cities/porto/", "/categories/music/",
            f"/events/{slug}/"]  # fmt: skip


def shows(client, path: str, wanted: str) -> bool:
    response = client.get(path)
    assert response.status_code == 200, path
    return wanted in page_text(response)


@pytest.fixture
def frozen(time_machine):
    """Time stands still unless the test moves it (`frozen(seconds)`)."""
    time_machine.move_to(datetime.now(UTC), tick=False)
    return lambda seconds: time_machine.shift(timedelta(seconds=seconds))


@postgres
def test_visitors_pages_and_the_sitemap_read_the_replica(replica_site, servers):
    slug = replica_site.config["REPLICA_EVENT_SLUG"]
    old, new = new_title(servers, slug)
    client = replica_site.test_client()
    with replay_paused(servers):
        retitle(servers[0], slug, new)
        run_sql(servers[0], "UPDATE events SET updated_at = '2031-02-03' WHERE slug = :s", s=slug)
        for path in visitor_pages(replica_site):
            assert shows(client, path, old), path
            assert not shows(client, path, new), path
        assert "2031-02-03" not in client.get("/sitemaps/events-1.xml").get_data(as_text=True)
    caught_up(servers)
    for path in visitor_pages(replica_site):  # replayed: the same pages show the change
        assert shows(client, path, new), path
    assert "2031-02-03" in client.get("/sitemaps/events-1.xml").get_data(as_text=True)


@postgres
def test_a_booking_goes_to_the_primary_and_the_member_reads_it_for_a_few_seconds(
    replica_site, servers, frozen
):
    slug = replica_site.config["REPLICA_EVENT_SLUG"]
    event_url = f"/events/{slug}/"
    old, new = new_title(servers, slug)
    member, visitor = replica_site.test_client(), replica_site.test_client()
    form = booking_form(member, MEMBER, event_url, quantity=1)
    with replay_paused(servers):
        retitle(servers[0], slug, new)
        assert shows(member, "/events/", old)  # the member wrote nothing yet: the replica

        assert member.post(f"{event_url}book/", data=form).status_code == 303
        bookings = "SELECT count(*) FROM bookings JOIN users ON users.id = user_id WHERE email = :e"
        assert run_sql(servers[0], bookings, e=MEMBER)[0][0] == 1  # written on the primary
        assert run_sql(servers[1], bookings, e=MEMBER)[0][0] == 0  # not replayed yet
        for path in visitor_pages(replica_site):  # read-your-writes: the primary
            assert shows(member, path, new), path
        assert shows(visitor, "/events/", old)  # everyone else: still the replica

        frozen(replica_site.config["READ_YOUR_WRITES"] - 1)
        assert shows(member, "/events/", new)
        frozen(2)  # READ_YOUR_WRITES seconds after the booking: the replica again
        assert shows(member, "/events/", old)


@postgres
def test_the_hosts_dashboard_always_reads_the_primary(replica_site, servers, frozen):
    slug = replica_site.config["REPLICA_EVENT_SLUG"]
    old, new = new_title(servers, slug)
    host = replica_site.test_client()
    sign_in(host, HOST)
    frozen(replica_site.config["READ_YOUR_WRITES"] + 1)  # long after anything signing in wrote
    with replay_paused(servers):
        retitle(servers[0], slug, new)
        assert shows(host, "/events/", old)
        assert shows(host, "/host/", new)


@postgres
def test_a_page_cached_after_a_write_is_rendered_from_the_primary(replica_site, servers, frozen):
    """A booking bumps the event page's cache token. The next render of the page is stored
    under the new token (for EVENT_PAGE_CACHE_SECONDS): rendered from a replica that hasn't
    replayed the booking yet, it would show the old seats left for minutes after."""
    replica_site.config["PAGE_CACHE_SECONDS"] = TestConfig.PAGE_CACHE_SECONDS
    slug = replica_site.config["REPLICA_EVENT_SLUG"]
    event_url = f"/events/{slug}/"
    seats = "SELECT capacity - seats_booked FROM events WHERE slug = :slug"
    left = run_sql(servers[0], seats, slug=slug)[0][0]
    member, visitor = replica_site.test_client(), replica_site.test_client()
    assert shows(visitor, event_url, f"{left} seats left")  # cached
    form = booking_form(member, MEMBER, event_url, quantity=2)
    with replay_paused(servers):
        assert member.post(f"{event_url}book/", data=form).status_code == 303
        assert run_sql(servers[1], seats, slug=slug)[0][0] == left  # the replica: not yet

        assert shows(visitor, event_url, f"{left - 2} seats left")
        frozen(replica_site.config["READ_YOUR_WRITES"] + 1)  # the token is old now: replica
        assert shows(visitor, event_url, f"{left - 2} seats left")  # the copy cached above


def lag_gauge(client) -> float:
    body = client.get("/metrics/").get_data(as_text=True)
    return float(re.search(r"^eventmate_replica_lag_seconds (\S+)$", body, re.MULTILINE)[1])


@postgres
def test_lag_is_on_metrics_and_readiness_is_degraded_above_the_limit(replica_site, servers):
    replica_site.config["REPLICA_MAX_LAG"] = 1
    slug = replica_site.config["REPLICA_EVENT_SLUG"]
    client = replica_site.test_client()
    ready = client.get("/health/ready/")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ok"
    assert ready.get_json()["checks"]["replica"] == "ok"
    assert ready.get_json()["replica_lag_seconds"] == 0
    assert lag_gauge(client) == 0

    _, new = new_title(servers, slug)
    with replay_paused(servers):
        retitle(servers[0], slug, new)
        deadline = time.monotonic() + 20
        while (ready := client.get("/health/ready/")).get_json()["checks"]["replica"] == "ok":
            assert time.monotonic() < deadline, "the lag never grew past REPLICA_MAX_LAG"
            time.sleep(0.2)
        assert ready.status_code == 200  # reads go to the primary meanwhile
        assert ready.get_json()["status"] == "degraded"
        assert ready.get_json()["checks"]["replica"] == "lagging"
        assert ready.get_json()["replica_lag_seconds"] > 1
        assert lag_gauge(client) > 1
        assert shows(client, "/events/", new)  # too far behind to be read
    caught_up(servers)
    assert client.get("/health/ready/").get_json()["status"] == "ok"
    assert lag_gauge(client) == 0


@postgres
def test_replica_down_pages_come_from_the_primary_and_return_to_it(replica_site, servers, frozen):
    primary, replica = servers
    slug = replica_site.config["REPLICA_EVENT_SLUG"]
    client = replica_site.test_client()
    old, new = new_title(servers, slug)
    assert shows(client, "/events/", old)  # a connection to the replica is pooled

    replica.stop()
    retitle(primary, slug, new)
    for path in visitor_pages(replica_site):
        assert shows(client, path, new), path  # the first one found out, and ran again
    ready = client.get("/health/ready/")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "degraded"
    assert ready.get_json()["checks"]["replica"] == "failing"
    assert "eventmate_replica_circuit_open 1.0" in client.get("/metrics/").get_data(as_text=True)

    replica.start()
    caught_up(servers)
    with replay_paused(servers):
        retitle(primary, slug, old)
        assert shows(client, "/events/", old)  # still skipping the replica: the primary
        frozen(COOL_DOWN + 1)
        assert shows(client, "/events/", new)  # back on the replica (replay paused)
    body = client.get("/metrics/").get_data(as_text=True)
    assert "eventmate_replica_circuit_open 0.0" in body


def test_without_a_replica_nothing_is_stamped_or_routed(app, client, member, event):
    """The embedded default and the plain production setup: one database, no session key."""
    from eventmate.replica.routing import EXTENSION, WROTE_AT

    assert EXTENSION not in app.extensions
    form = {**hidden_fields(client, f"/events/{event.slug}/"), "quantity": "1"}
    assert client.post(f"/events/{event.slug}/book/", data=form).status_code == 303
    with client.session_transaction() as session:
        assert WROTE_AT not in session


SESSION_STATE = """
    SELECT array(SELECT 'SET ' || name FROM pg_settings WHERE source = 'session')
        || array(SELECT 'advisory lock' FROM pg_locks
                 WHERE locktype = 'advisory' AND pid = pg_backend_pid())
        || array(SELECT 'LISTEN ' || channel FROM pg_listening_channels() AS channel)
        || array(SELECT 'prepared ' || name FROM pg_prepared_statements)
        || array(SELECT 'cursor ' || name FROM pg_cursors)
        || array(SELECT 'temp table ' || relname FROM pg_class
                 WHERE relnamespace = pg_my_temp_schema())
"""


def session_state(connection) -> list[str]:
    """What a connection keeps from one transaction to the next, beyond its data."""
    return connection.execute(text(SESSION_STATE)).scalar()


@postgres
def test_requests_leave_no_session_state_for_pgbouncer_to_hand_on(replica_site, servers):
    """PgBouncer in transaction pooling mode gives each transaction whichever server connection
    is free: a SET (without LOCAL), an advisory lock held past a transaction, a LISTEN, a
    prepared statement, a WITH HOLD cursor or a temporary table would be left to another
    client, or be missing from the next transaction. After pages and writes on both engines,
    no pooled connection holds any of them."""
    slug = replica_site.config["REPLICA_EVENT_SLUG"]
    event_url = f"/events/{slug}/"
    member, visitor = replica_site.test_client(), replica_site.test_client()
    for path in [*visitor_pages(replica_site), "/sitemap.xml", "/sitemaps/events-1.xml"]:
        assert visitor.get(path).status_code == 200, path
    form = booking_form(member, MEMBER, event_url, quantity=1)
    assert member.post(f"{event_url}book/", data=form).status_code == 303
    token = hidden_fields(member, "/account/")["csrf_token"]
    renamed = member.post("/account/name/", data={"csrf_token": token, "display_name": "Rita R"})
    assert renamed.status_code == 303
    host = replica_site.test_client()
    sign_in(host, HOST)
    for client, path in [(member, "/me/bookings/"), (host, "/host/"), (visitor, "/metrics/"),
                         (visitor, "/health/ready/"), (member, event_url)]:  # fmt: skip
        assert client.get(path).status_code == 200, path

    with replica_site.app_context():
        for engine in db.engines.values():
            idle = engine.pool.checkedin()  # every connection the requests used
            assert idle > 0
            connections = [engine.connect() for _ in range(idle)]
            try:
                for connection in connections:
                    assert session_state(connection) == []
            finally:
                for connection in connections:
                    connection.close()
        with db.engine.connect() as connection:  # the check finds what it looks for
            connection.exec_driver_sql("SET work_mem = '8MB'")
            assert session_state(connection) == ["SET work_mem"]
            connection.invalidate()  # not back into the pool with it
