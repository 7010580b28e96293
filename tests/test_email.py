"""Email through the outbox: what is sent, when, and that nothing is lost or sent twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from config import ConfigError, ProductionConfig
from eventmate.bookings.reminders import queue_reminders, unsubscribe_token
from eventmate.extensions import db
from eventmate.models import Booking, OutboxMessage, User
from eventmate.notifications import outbox as outbox_service
from eventmate.notifications.mailer import FileMailer, SMTPMailer, mailer_for
from tests.factories import make_booking, make_city, make_event, make_user
from tests.mail import attachments_of, html_of, links_in, text_of
from tests.smtp import smtp_server
from tests.test_bookings import book


def rows(kind: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def test_a_booking_is_confirmed_by_email_with_its_calendar_file(client, member, outbox):
    tokyo = make_city(name="Tokyo", timezone="Asia/Tokyo")
    starts = datetime(2031, 3, 14, 10, 0, tzinfo=UTC)  # 19:00 in Tokyo
    event = make_event(title="Jazz Night", city=tokyo, starts_at=starts, capacity=10,
                       venue_name="Blue Room", price=12)  # fmt: skip
    db.session.commit()

    response = book(client, event, "2")

    assert response.status_code == 303
    reference = response.headers["Location"].split("/")[-2]
    [email] = outbox()
    assert email["To"] == "member@example.com"
    assert email["Subject"] == f"Booking confirmed: Jazz Night ({reference})"
    assert email["Message-ID"].startswith("<booking-confirmed.")
    text = text_of(email)
    assert "Hello Mira" in text
    assert reference in text
    assert "Blue Room" in text
    assert "Fri 14 Mar 2031, 19:00 JST" in text  # the event's own time zone
    assert "€24.00" in text  # two seats
    assert "Jazz Night" in html_of(email)
    assert reference in html_of(email)
    assert f"/bookings/{reference}/" in links_in(email)
    [(content_type, data)] = attachments_of(email).values()
    assert content_type == "text/calendar"
    [vevent] = Calendar.from_ical(data).walk("VEVENT")
    assert vevent["summary"] == "Jazz Night (2 seats)"
    assert vevent.decoded("dtstart") == starts.astimezone(tokyo.zone)
    [row] = rows()
    assert (row.status, row.attempts, row.kind) == ("sent", 1, "booking_confirmed")


def test_a_repeated_booking_form_sends_one_confirmation(client, member, outbox):
    from tests.test_bookings import booking_form

    event = make_event(capacity=10)
    db.session.commit()
    form = booking_form(client, event)

    book(client, event, "1", form)
    book(client, event, "1", form)

    assert len(outbox()) == 1
    assert len(rows()) == 1


def test_a_refused_booking_writes_no_email(client, member, outbox):
    event = make_event(capacity=1)
    db.session.commit()

    assert book(client, event, "2").status_code == 409

    assert rows() == []
    assert outbox() == []


def test_cancelling_sends_word_of_it(client, member, outbox):
    booking = make_booking(make_event(title="Pottery"), user=member, quantity=2,
                           reference="CANC-2345")  # fmt: skip
    db.session.commit()
    page = client.get("/bookings/CANC-2345/cancel/").get_data(as_text=True)


    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    client.post("/bookings/CANC-2345/cancel/", data={"csrf_token": token})

    [email] = outbox()
    assert email["Subject"] == "Booking cancelled: Pottery (CANC-2345)"
    assert "2 seats released" in text_of(email)
    assert rows("booking_cancelled")[0].booking_id == booking.id


# --- reminders ---------------------------------------------------------------------------


def test_reminders_go_once_to_bookings_of_events_starting_within_a_day(db_session, clock, outbox):
    now = clock(datetime(2031, 5, 1, 12, 0, tzinfo=UTC))
    soon = make_event(title="Tomorrow", starts_at=now + timedelta(hours=20))
    later = make_event(title="Next week", starts_at=now + timedelta(days=7))
    booked_early = make_booking(soon, user=make_user(email="early@example.com"),
                                created_at=now - timedelta(days=3))  # fmt: skip
    make_booking(soon, user=make_user(email="late@example.com"),  # booked 2 h ago: fresh enough
                 created_at=now - timedelta(hours=2))  # fmt: skip
    make_booking(soon, user=make_user(email="quiet@example.com", reminders_enabled=False),
                 created_at=now - timedelta(days=3))  # fmt: skip
    make_booking(soon, user=make_user(email="gone@example.com"), status="cancelled",
                 created_at=now - timedelta(days=3))  # fmt: skip
    make_booking(later, user=make_user(email="week@example.com"),
                 created_at=now - timedelta(days=3))  # fmt: skip
    db_session.commit()

    outbox_service.dispatch(queue_reminders(now))
    again = queue_reminders(now + timedelta(minutes=10))

    [email] = outbox()
    assert email["To"] == "early@example.com"
    assert email["Subject"] == "Tomorrow: Tomorrow"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert again == []
    assert [row.booking_id for row in rows("reminder")] == [booked_early.id]


def test_a_reminder_cancelled_before_its_turn_is_skipped(db_session, clock, outbox):
    now = clock(datetime(2031, 5, 1, 12, 0, tzinfo=UTC))
    booking = make_booking(make_event(starts_at=now + timedelta(hours=10)),
                           created_at=now - timedelta(days=2))  # fmt: skip
    db_session.commit()
    ids = queue_reminders(now)
    booking.status = "cancelled"
    db_session.commit()

    outbox_service.dispatch(ids)

    assert outbox() == []
    assert rows("reminder")[0].status == "skipped"


def test_one_click_unsubscribe_turns_reminders_off(client, db_session):
    user = make_user(email="off@example.com")
    db_session.commit()
    with client.application.test_request_context():
        token = unsubscribe_token(user)

    page = client.get(f"/reminders/off/{token}/")
    # As a mail app does it (RFC 8058): a POST with no form of ours.
    posted = client.post(f"/reminders/off/{token}/", data={"List-Unsubscribe": "One-Click"})

    assert page.status_code == 200
    assert "Stop reminders" in page.get_data(as_text=True)
    assert posted.status_code == 200
    assert "Reminders are off" in posted.get_data(as_text=True)
    assert db.session.get(User, user.id, populate_existing=True).reminders_enabled is False
    assert client.post("/reminders/off/forged-token/").status_code == 404


# --- delivery ----------------------------------------------------------------------------


def test_an_unreachable_smtp_server_leaves_the_message_pending_for_the_sweep(
    app, client, member, clock, monkeypatch
):
    now = clock(datetime.now(UTC).replace(microsecond=0))
    event = make_event(capacity=5)
    db.session.commit()
    with smtp_server() as (url, inbox):
        monkeypatch.setitem(app.config, "MAIL_URL", url)
        inbox.refusing = True

        book(client, event, "1")

        [row] = rows()
        assert (row.status, row.attempts) == ("pending", 1)
        assert "451" in row.last_error
        assert row.next_attempt_at > now + timedelta(seconds=60)
        inbox.refusing = False
        with app.test_request_context():
            assert outbox_service.sweep() == 0  # not due yet
        clock(row.next_attempt_at + timedelta(seconds=1))
        with app.test_request_context():
            assert outbox_service.sweep() == 1

        assert inbox.send_keys() == [row.send_key]
        db.session.refresh(row)
        assert (row.status, row.attempts) == ("sent", 2)


def test_delivering_a_sent_message_again_sends_nothing(app, client, member):
    event = make_event(capacity=5)
    db.session.commit()
    with smtp_server() as (url, inbox):
        app.config["MAIL_URL"], previous = url, app.config["MAIL_URL"]
        try:
            book(client, event, "1")
            [row] = rows()
            with app.test_request_context():
                outbox_service.deliver([row.id, row.id])
        finally:
            app.config["MAIL_URL"] = previous
    assert len(inbox.messages) == 1


def test_a_booking_rolled_back_leaves_no_message(app, db_session):
    user, event = make_user(), make_event()
    db_session.commit()
    booking = Booking(user_id=user.id, event_id=event.id, quantity=1, reference="ROLL-BACK")
    db.session.add(booking)
    db.session.flush()
    outbox_service.queue("booking_confirmed", f"booking-confirmed:{booking.id}", user.email,
                         booking_id=booking.id)  # fmt: skip
    db.session.rollback()

    assert rows() == []


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", SMTPMailer("mail.example.org", 25, None, None, "none")),
        ("smtp://u%40x:p%2Fw@mail.example.org:2525?starttls=true",
         SMTPMailer("mail.example.org", 2525, "u@x", "p/w", "starttls")),
        ("smtp://u:p@mail.example.org?starttls=true",
         SMTPMailer("mail.example.org", 587, "u", "p", "starttls")),
        ("smtps://u:p@mail.example.org", SMTPMailer("mail.example.org", 465, "u", "p", "tls")),
        ("file:///var/mail/eventmate", FileMailer(Path("/var/mail/eventmate"))),
    ],
)  # fmt: skip
def test_mail_urls(url, expected):
    assert mailer_for(url) == expected


def test_an_unknown_mail_scheme_is_refused():
    with pytest.raises(ValueError, match="MAIL_URL"):
        mailer_for("http://mail.example.org")


def test_production_refuses_to_start_without_a_mail_url(tmp_path):
    env = {"SECRET_KEY": "s" * 48, "SITE_HOSTS": "events.example.org"}
    with pytest.raises(ConfigError, match="MAIL_URL"):
        ProductionConfig.settings_from_env(env, str(tmp_path))
    settings = ProductionConfig.settings_from_env(
        {**env, "MAIL_URL": "smtp://mail:25"}, str(tmp_path)
    )
    assert settings["SITE_URL"] == "https://events.example.org"


def test_the_embedded_default_writes_email_to_the_instance_folder(tmp_path):
    from config import Config

    settings = Config.settings_from_env({}, str(tmp_path))
    assert settings["MAIL_URL"] == f"file://{tmp_path}/outbox"
    assert settings["CELERY"]["task_always_eager"] is True
    redis = Config.settings_from_env({"REDIS_URL": "redis://127.0.0.1:6379/4"}, str(tmp_path))
    assert redis["CELERY"]["broker_url"] == "redis://127.0.0.1:6379/5"  # never evicted
    assert redis["CELERY"]["task_always_eager"] is False
