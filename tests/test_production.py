"""The production configuration end to end: `gunicorn -c gunicorn.conf.py wsgi:app` with gevent
workers, EVENTMATE_CONFIG=production, real PostgreSQL and Redis, behind a (simulated) proxy."""

from __future__ import annotations

import os
import secrets
import uuid

import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import next_database
from eventmate.extensions import db
from eventmate.models import Booking
from tests.conftest import PASSWORD, app_for_database, fresh_database
from tests.factories import make_event, make_member
from tests.live import Browser, production_server

WORKERS = 2
POOL_SIZE = 4
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the test Redis, removed afterwards."""
    url = os.environ.get("TEST_REDIS_URL") or pytest.skip("no Redis configured in this run")
    prefix = f"em-prod-test-{uuid.uuid4().hex[:8]}:"
    cache, sessions = redis.Redis.from_url(url), redis.Redis.from_url(next_database(url))
    yield url, prefix, (cache, sessions)
    for client in (cache, sessions):
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


def test_production_stack_serves_the_site_end_to_end(app, postgres_only, redis_prefix, tmp_path):
    redis_url, prefix, stores = redis_prefix
    with fresh_database(app) as url, app_for_database(url, str(tmp_path / "setup")) as setup:
        with setup.app_context():
            upgrade()
            make_member(email="olga@example.com", password=PASSWORD)
            event = make_event(capacity=5)
            slug, event_id = event.slug, event.id
            db.session.commit()
            db.engine.dispose()  # so the server's are the only connections counted below
        env = {
            "EVENTMATE_CONFIG": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "MAIL_URL": f"file://{tmp_path}/outbox",
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": prefix,
            "PROXY_FIX_HOPS": "1",
            "SITE_HOSTS": "127.0.0.1",
            "DB_POOL_SIZE": str(POOL_SIZE),
            "EVENTMATE_INSTANCE_PATH": str(tmp_path / "instance"),
        }
        with production_server(env, workers=WORKERS) as master:
            plain = Browser(master.base_url)
            status, headers, _ = plain.get("/")
            assert status in (301, 302)
            assert headers["Location"].startswith("https://")
            status, _, body = plain.get("/health/ready/")  # the load balancer's plain probe
            assert status == 200
            assert '"database":"ok"' in body.replace(" ", "")

            # A browser on https sends a Referer, which Flask-WTF checks on https (SSL strict).
            origin = master.base_url.replace("http://", "https://")
            visitor = Browser(master.base_url, headers={**PROXY, "Referer": f"{origin}/"})
            assert visitor.get("/")[0] == 200  # caches the home page's aggregates
            status, headers, _ = visitor.get(f"/events/{slug}/")
            assert status == 200
            assert headers["Strict-Transport-Security"].startswith("max-age=31536000")

            token = visitor.hidden_fields("/login/")["csrf_token"]
            login = {"csrf_token": token, "email": "olga@example.com", "password": PASSWORD}
            status, headers, _ = visitor.post("/login/", login)
            assert status == 302
            cookie = next(c for c in headers.get_all("Set-Cookie") if c.startswith("session="))
            assert "Secure" in cookie
            assert "HttpOnly" in cookie
            assert "SameSite=Lax" in cookie

            form = {**visitor.hidden_fields(f"/events/{slug}/"), "quantity": "2"}
            status, headers, _ = visitor.post(f"/events/{slug}/book/", form)
            assert status == 303, headers

            backends = _connections_to(url)

        with setup.app_context():
            booking = db.session.query(Booking).filter_by(event_id=event_id).one()
            assert (booking.quantity, booking.status) == (2, "confirmed")

    # No worker ever went past its pool (no overflow).
    assert 0 < backends <= WORKERS * POOL_SIZE
    # Cached data in REDIS_URL's database; sessions and rate limits, which must never be
    # evicted, in the next one; each under its own prefix.
    cache, sessions = stores
    assert list(sessions.scan_iter(f"{prefix}session:*"))
    assert list(sessions.scan_iter(f"{prefix}limits*"))
    assert list(cache.scan_iter(f"{prefix}cache:*"))
    assert not list(cache.scan_iter(f"{prefix}session:*"))
    assert not list(sessions.scan_iter(f"{prefix}cache:*"))


def _connections_to(url: str) -> int:
    name = make_url(url).database
    engine = create_engine(make_url(url).set(database="postgres"))
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
        ).scalar_one()
    engine.dispose()
    return count
