"""The load test's email check (loadtest/mail.py): after a run, every booking made during it has
its confirmation in the outbox, every cancellation its notice, and the SMTP server received
each message once. It reads the database the app wrote (committed, from another connection)
and the SMTP server's inbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import delete

from eventmate.bookings.services import book_seats, cancel_booking, new_request_token
from eventmate.extensions import db
from eventmate.models import OutboxMessage
from loadtest import mail
from tests.conftest import app_for_database, fresh_database
from tests.factories import make_event, make_user
from tests.smtp import smtp_server

pytestmark = pytest.mark.postgres  # the load test runs on PostgreSQL (now(), its clock)


def test_the_check_finds_missing_repeated_and_lost_messages(app, tmp_path, postgres_only):
    with (
        fresh_database(app) as url,
        app_for_database(url, str(tmp_path / "site")) as site,
        smtp_server() as (mail_url, inbox),
    ):
        site.config["MAIL_URL"] = mail_url
        with site.test_request_context():
            upgrade()
            since = mail.database_now(url)
            member, event = make_user(), make_event(capacity=5)
            db.session.commit()
            first = book_seats(member, event, 1, new_request_token()).booking
            second = book_seats(member, event, 2, new_request_token()).booking
            cancel_booking(db.session.get(type(first), first.id))

            healthy = mail.check(url, since, inbox.send_keys(), drain_seconds=1.5)

            assert healthy.problems == []
            assert (healthy.bookings, healthy.cancellations, healthy.received) == (2, 1, 3)
            assert healthy.statuses == {"sent": 3}
            assert "2 bookings and 1 cancellations in the run" in healthy.describe()

            # The SMTP server gets one message twice; the second booking's confirmation is
            # gone from the outbox; a message is marked sent that never reached the server.
            inbox.messages.append(inbox.messages[0])
            db.session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.send_key == f"booking-confirmed:{second.id}"
                )
            )
            sent_at = datetime.now(UTC)
            lost = OutboxMessage(kind="booking_confirmed", send_key="booking-confirmed:0",
                                 to_address=member.email, status="sent", sent_at=sent_at,
                                 next_attempt_at=sent_at)  # fmt: skip
            db.session.add(lost)
            db.session.commit()

            broken = mail.check(url, since, inbox.send_keys(), drain_seconds=1.5)

            assert broken.problems == [
                "1 of 2 bookings have no confirmation",
                "1 messages reached the SMTP server twice",
                "1 messages marked sent never reached the SMTP server",
            ]
            db.session.remove()
