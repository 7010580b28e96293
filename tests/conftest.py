"""Test fixtures in flaskr's shape: app → client, runner.

The database comes from TEST_DATABASE_URL (scripts/test points it at a throw-away PostgreSQL
database) or is a fresh SQLite file. The schema is built once per session by the migrations;
each test runs inside a transaction that is rolled back (SQLAlchemy's "join a session into an
external transaction" recipe), so tests are isolated and fast.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from flask import g
from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, text
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from config import TestConfig
from eventmate import create_app
from eventmate.extensions import cache, db

REQUIRE_SERVICES = os.environ.get("EVENTMATE_REQUIRE_SERVICES") == "1"
# Statements that are transaction bookkeeping, not queries a page makes.
BOOKKEEPING = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


def pytest_configure(config):
    if not os.environ.get("TEST_DATABASE_URL"):
        # A private SQLite file per run, never the developer's instance/eventmate.db.
        folder = tempfile.mkdtemp(prefix="eventmate-test-")
        os.environ["TEST_DATABASE_URL"] = f"sqlite:///{folder}/eventmate.db"


def pytest_sessionfinish(session, exitstatus):
    """In the PostgreSQL run a skipped test is a failure: services must not silently vanish."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if REQUIRE_SERVICES and skipped and session.exitstatus == 0:
        reporter.write_line(
            f"FAILED: {len(skipped)} test(s) skipped in the PostgreSQL/Redis run", red=True
        )
        session.exitstatus = 1


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(TestConfig, instance_path=str(instance))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_real_savepoints(db.engine)
        upgrade()
    # Tests hold an app context while they make requests, and Flask reuses it for each request,
    # so `g` would outlive a request (Flask-Login caches the user there). In production every
    # request has its own; give each test request a fresh `g` before anything else runs.
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: g.__dict__.clear())
    return app


def _sqlite_real_savepoints(engine) -> None:
    """pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN."""

    @sqlalchemy_event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sqlalchemy_event.listens_for(engine, "begin")
    def _explicit_begin(connection):
        connection.exec_driver_sql("BEGIN")


@pytest.fixture
def db_session(app) -> Iterator:
    """A session whose work is rolled back after the test, in an app context."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        cache.clear()
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, db_session):
    return app.test_client()


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


@pytest.fixture
def clock(time_machine):
    """`clock(moment)` pins "now" for the test (time-machine, not ticking). It moves Python's
    clocks only: the app computes "now" in Python and passes it to its queries, never asking
    the database for its own."""

    def pin(moment: datetime) -> datetime:
        time_machine.move_to(moment, tick=False)
        return moment

    return pin


@pytest.fixture
def is_postgres(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (runs in the PostgreSQL pass of scripts/test)")


@pytest.fixture
def committed(app, postgres_only):
    """For tests against a live server, which can't see a test's open transaction: a session on
    its own connection whose rows are committed, and a list to put them in. The listed events
    (with their bookings, waitlist entries and emails), members and cities are deleted after."""
    from eventmate.models import City, Event, User

    with app.app_context():
        session = Session(db.engine)
        created: list = []
        yield session, created
        session.rollback()
        for model in (Event, User, City):  # bookings, entries, outbox rows cascade
            ids = [row.id for row in created if isinstance(row, model)]
            if ids:
                session.execute(delete(model).where(model.id.in_(ids)))
        session.commit()
        session.close()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __call__(self, _conn, _cursor, statement, _params, _context, _executemany) -> None:
        if not statement.lstrip().upper().startswith(BOOKKEEPING):
            self.statements.append(statement)


@pytest.fixture
def count_queries(db_session):
    """`with count_queries() as counter:` counts the SQL statements the block sends."""

    @contextmanager
    def counting():
        counter = QueryCounter()
        engine = db.engine
        sqlalchemy_event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sqlalchemy_event.remove(engine, "before_cursor_execute", counter)

    return counting


def csrf_token(client, url: str) -> str:
    """The CSRF token from the form on `url`, as a browser would submit it."""
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def hidden_fields(client, url: str) -> dict[str, str]:
    """Every hidden field of the forms on `url` (CSRF and request tokens)."""
    page = client.get(url).get_data(as_text=True)
    return dict(re.findall(r'name="([a-z_]+)" type="hidden" value="([^"]*)"', page))


def post_form(client, form_url: str, data: dict, action: str | None = None, **kwargs):
    """Submit a form the way a browser does: load the page for its token, then POST."""
    data = {"csrf_token": csrf_token(client, form_url), **data}
    return client.post(action or form_url, data=data, **kwargs)


PASSWORD = "correct horse battery staple"


def booking_form(client, email: str, event_url: str, quantity: int) -> dict[str, str]:
    """Log `email` in and return the booking form of `event_url`, filled in as a browser would."""
    login = post_form(client, "/login/", {"email": email, "password": PASSWORD})
    assert login.status_code == 302, login.get_data(as_text=True)
    return {**hidden_fields(client, event_url), "quantity": str(quantity)}


def sign_in(client, email: str, password: str = PASSWORD):
    """Log `client` in as `email`, and check it worked: a redirect away from the login form."""
    response = post_form(client, "/login/", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert not response.headers["Location"].startswith("/login/")
    return response


@pytest.fixture
def login(client):
    """`login(user)` logs the test client in as `user` (whose password is PASSWORD)."""

    def log_in(user, password: str = PASSWORD):
        return sign_in(client, user.email, password)

    return log_in


@contextmanager
def fresh_database(app) -> Iterator[str]:
    """The URL of a brand-new empty database of the test database's kind, dropped afterwards."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        folder = tempfile.mkdtemp(prefix="eventmate-fresh-")
        yield f"sqlite:///{folder}/fresh.db"
        return
    name = f"{url.database}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def app_for_database(url: str, instance_path: str):
    """A second app (test config) on another database, e.g. one a live server also uses."""
    previous = os.environ.get("TEST_DATABASE_URL")
    os.environ["TEST_DATABASE_URL"] = url
    try:
        other = create_app(TestConfig, instance_path=instance_path)
    finally:
        os.environ["TEST_DATABASE_URL"] = previous or ""
    try:
        yield other
    finally:
        with other.app_context():
            db.engine.dispose()


@contextmanager
def cache_switched_on(app, setting: str, seconds: int = 60) -> Iterator[None]:
    """`setting` (off in this configuration) on for a test, with the cache emptied before and
    after."""
    from eventmate.extensions import cache

    previous = app.config[setting]
    app.config[setting] = seconds
    cache.clear()
    try:
        yield
    finally:
        app.config[setting] = previous
        cache.clear()


@pytest.fixture
def event(db_session):
    from tests.factories import make_event

    made = make_event(title="Harbour Jazz Night", capacity=40)
    db_session.commit()
    return made


@pytest.fixture
def lisbon(db_session):
    """A city in a time zone other than UTC's, for the host's event form."""
    from tests.factories import make_city

    city = make_city(name="Lisbon", slug="lisbon", country="Portugal", timezone="Europe/Lisbon")
    db_session.commit()
    return city


@pytest.fixture
def member(db_session, login):
    """A signed-in member with a confirmed address, member@example.com ("Mira")."""
    from tests.factories import make_member

    user = make_member(email="member@example.com", display_name="Mira")
    db_session.commit()
    login(user)
    return user


def page_text(response) -> str:
    """A response's HTML with its entities unescaped, as a reader sees the text."""
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def host(db_session, login):
    """A signed-in host, "Hostess"."""
    from tests.factories import make_member

    user = make_member(is_host=True, display_name="Hostess")
    db_session.commit()
    login(user)
    return user


@pytest.fixture
def queued_not_sent(app):
    """Tasks go to a broker (kombu's in-memory one) instead of running in the request, as in
    production: what a request itself costs, without the worker's part."""
    celery = app.extensions["celery"]
    celery.conf.task_always_eager = False
    try:
        yield celery
    finally:
        celery.conf.task_always_eager = True


@pytest.fixture
def outbox(app, db_session):
    """The emails sent during the test (tests/mail.py), starting empty."""
    from tests import mail

    mail.clear_outbox(app)
    return lambda: mail.sent_emails(app)
