"""The real thing: gunicorn, a Celery worker with beat, Redis as the broker, an SMTP server.

Every confirmation arrives exactly once, whether all goes well, the worker is killed with
SIGKILL in the middle of sending, or the broker's Redis is down while members book. These
commit to a database of their own (PostgreSQL pass).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.models import Booking, OutboxMessage
from tests.conftest import PASSWORD, app_for_database, fresh_database
from tests.factories import unsaved_event_with_members
from tests.live import Browser, gunicorn_server
from tests.smtp import smtp_server
from tests.test_redis_faults import RedisServer, eventually
from tests.workers import celery_worker, kill

MEMBERS = 6


@dataclass
class Site:
    database_url: str
    data_app: Flask
    slug: str
    emails: list[str]
    instance: str

    def env(self, mail_url: str, broker_url: str, prefix: str) -> dict:
        """What the server and the worker share: the database, the queue, the mail server."""
        return {
            "TEST_DATABASE_URL": self.database_url,
            "TEST_MAIL_URL": mail_url,
            "TEST_CELERY_BROKER_URL": broker_url,
            "TEST_KEY_PREFIX": prefix,
            "TEST_OUTBOX_RETRY_SECONDS": "2",
            "TEST_OUTBOX_SWEEP_SECONDS": "1",
        }

    def outbox(self) -> Counter:
        """Outbox rows by status."""
        with self.data_app.app_context():
            rows = db.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
            db.session.remove()
        return Counter(dict(rows))

    def confirmations(self) -> set[str]:
        with self.data_app.app_context():
            ids = db.session.scalars(select(Booking.id)).all()
            db.session.remove()
        return {f"booking-confirmed:{booking_id}" for booking_id in ids}


@pytest.fixture
def site(app, postgres_only, tmp_path):
    with fresh_database(app) as url, app_for_database(url, str(tmp_path / "data")) as data_app:
        with data_app.app_context():
            upgrade()
            event, members = unsaved_event_with_members(
                MEMBERS, PASSWORD, slug="big-night", title="Big Night", capacity=1000
            )
            db.session.add_all([event.city, event.host, event, *members])
            emails = [member.email for member in members]
            db.session.commit()
            db.session.remove()
        yield Site(url, data_app, "big-night", emails, str(tmp_path))


def signed_in(base: str, emails: list[str]) -> list[Browser]:
    browsers = []
    for email in emails:
        browser = Browser(base)
        browser.log_in(email, PASSWORD)
        browsers.append(browser)
    return browsers


def book(browser: Browser, slug: str) -> int:
    form = browser.hidden_fields(f"/events/{slug}/")
    status, _, _ = browser.post(f"/events/{slug}/book/", {**form, "quantity": "1"})
    return status


def prefix() -> str:
    return f"em-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def test_a_worker_sends_every_confirmation_once(site, tmp_path, capsys):
    with smtp_server() as (mail_url, inbox):
        env = site.env(mail_url, os.environ["TEST_REDIS_URL"], prefix())
        instance = str(tmp_path / "instance")
        with gunicorn_server(instance, env, workers=2) as base, celery_worker(instance, env):
            browsers = signed_in(base, site.emails)
            statuses = [book(browser, site.slug) for browser in browsers for _ in range(3)]

            assert statuses == [303] * (3 * MEMBERS)
            eventually(lambda: site.outbox() == Counter(sent=3 * MEMBERS), timeout=60)
        sent = Counter(inbox.send_keys())

    assert set(sent) == site.confirmations()
    assert set(sent.values()) == {1}
    assert site.outbox() == Counter(sent=3 * MEMBERS)
    first = inbox.messages[0]
    assert first["Subject"].startswith("Booking confirmed: Big Night")
    assert [part.get_filename() for part in first.iter_attachments()] == ["big-night.ics"]


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(site, tmp_path):
    with smtp_server() as (mail_url, inbox):
        env = site.env(mail_url, os.environ["TEST_REDIS_URL"], prefix())
        instance = str(tmp_path / "instance")
        with gunicorn_server(instance, env, workers=2) as base:
            browsers = signed_in(base, site.emails)
            inbox.stalled.set()
            with celery_worker(instance, env, concurrency=1) as worker:
                assert [book(browser, site.slug) for browser in browsers] == [303] * MEMBERS
                assert inbox.waiting.wait(timeout=60), "the worker never started sending"
                kill(worker)  # mid-send: it named a recipient and waits for the answer
            inbox.stalled.clear()
            assert inbox.messages == []
            assert site.outbox() == Counter(pending=MEMBERS)
            with celery_worker(instance, env):  # a new worker; beat's sweep hands them out
                eventually(lambda: site.outbox() == Counter(sent=MEMBERS), timeout=60)
                more = [book(browser, site.slug) for browser in browsers[:2]]
                eventually(lambda: site.outbox() == Counter(sent=MEMBERS + 2), timeout=60)
        sent = Counter(inbox.send_keys())

    assert more == [303, 303]
    assert set(sent) == site.confirmations()
    assert set(sent.values()) == {1}


def test_bookings_while_the_broker_is_down_are_confirmed_once_it_is_back(site, tmp_path):
    """The broker's Redis stops (sessions are on another: with theirs down nobody is signed in
    to book). Bookings go on; their confirmations wait in the outbox, and go out once Redis
    is back, through the worker that reconnects and beat's sweep."""
    broker = RedisServer(tmp_path)
    broker.start()
    try:
        with smtp_server() as (mail_url, inbox):
            env = site.env(mail_url, broker.url, prefix())
            instance = str(tmp_path / "instance")
            with gunicorn_server(instance, env, workers=2) as base, celery_worker(instance, env):
                browsers = signed_in(base, site.emails)
                before = [book(browser, site.slug) for browser in browsers]
                eventually(lambda: site.outbox() == Counter(sent=MEMBERS), timeout=60)
                broker.stop()

                during = [book(browser, site.slug) for browser in browsers]
                assert site.outbox()["pending"] == MEMBERS

                broker.start()
                eventually(lambda: site.outbox() == Counter(sent=2 * MEMBERS), timeout=90)
            sent = Counter(inbox.send_keys())
    finally:
        broker.stop()

    assert before == during == [303] * MEMBERS
    assert set(sent) == site.confirmations()
    assert set(sent.values()) == {1}
    assert site.outbox() == Counter(sent=2 * MEMBERS)
