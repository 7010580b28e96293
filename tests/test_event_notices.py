"""Attendees are told when the host moves or cancels an event; cancelling cancels bookings."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.models import Booking, Event, OutboxMessage, WaitlistEntry
from tests.conftest import csrf_token
from tests.factories import make_booking, make_event, make_user
from tests.mail import text_of
from tests.test_hosts import edit, event_data


@pytest.fixture
def gig(db_session, host, lisbon):
    """An event of the signed-in host on 2031-06-10 at 19:30 Lisbon time, with two attendees
    and one cancelled booking."""
    event = make_event(
        host=host, city=lisbon, title="Fado by the River", venue_name="Clube de Fado",
        venue_address="Rua 94", starts_at=datetime(2031, 6, 10, 18, 30, tzinfo=UTC), capacity=40,
    )  # fmt: skip
    for email in ("ana@example.com", "rui@example.com"):
        make_booking(event, user=make_user(email=email), quantity=2)
    make_booking(event, user=make_user(email="gone@example.com"), status="cancelled")
    db_session.commit()
    return event


def form_for(event, lisbon, **changes):
    start = event.starts_at.astimezone(lisbon.zone)
    data = event_data(
        lisbon, title=event.title, venue_name=event.venue_name,
        venue_address=event.venue_address, capacity=str(event.capacity),
        starts_at=start.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    data.update(changes)
    return data


def test_a_new_start_time_is_emailed_to_every_confirmed_attendee(
    client, gig, lisbon, outbox
):
    response = edit(client, gig, form_for(gig, lisbon, starts_at="2031-06-11T21:00",
                                          ends_at="2031-06-11T23:00"))  # fmt: skip

    assert response.status_code == 303
    emails = outbox()
    assert sorted(email["To"] for email in emails) == ["ana@example.com", "rui@example.com"]
    text = text_of(emails[0])
    assert emails[0]["Subject"] == "Changed: Fado by the River has a new time"
    assert "It was: Tue 10 Jun 2031, 19:30 WEST" in text
    assert "Wed 11 Jun 2031, 21:00 WEST" in text


def test_a_new_venue_is_emailed_with_the_old_one(client, gig, lisbon, outbox):
    edit(client, gig, form_for(gig, lisbon, venue_name="Casa da Mariquinhas"))

    emails = outbox()
    assert len(emails) == 2
    assert emails[0]["Subject"] == "Changed: Fado by the River has a new venue"
    assert "It was at: Clube de Fado, Rua 94, Lisbon" in text_of(emails[0])
    assert "Casa da Mariquinhas" in text_of(emails[0])


def test_other_edits_send_nothing(client, gig, lisbon, outbox):
    edit(client, gig, form_for(gig, lisbon, title="Fado by the Tagus", capacity="50"))

    assert outbox() == []


def test_each_edit_is_news_of_its_own(client, gig, lisbon, outbox):
    edit(client, gig, form_for(gig, lisbon, starts_at="2031-06-11T21:00",
                               ends_at="2031-06-11T23:00"))  # fmt: skip
    edit(client, gig, form_for(db.session.get(Event, gig.id), lisbon,
                               starts_at="2031-06-12T21:00", ends_at="2031-06-12T23:00"))

    assert len(outbox()) == 4


def test_cancelling_asks_first_then_cancels_bookings_and_tells_each_attendee(
    client, gig, outbox
):
    waiting = WaitlistEntry(event_id=gig.id, user_id=make_user().id, quantity=1)
    db.session.add(waiting)
    db.session.commit()
    url = f"/host/events/{gig.slug}/cancel/"

    page = client.get(url)
    assert "4 booked seats are cancelled" in html.unescape(page.get_data(as_text=True))
    assert db.session.get(Event, gig.id).is_listed  # asking changed nothing

    response = client.post(url, data={"csrf_token": csrf_token(client, url),
                                      "reason": "The venue flooded."})  # fmt: skip

    assert response.status_code == 303
    event = db.session.get(Event, gig.id, populate_existing=True)
    assert event.is_cancelled
    assert not event.is_listed
    assert (event.seats_booked, event.seats_held) == (0, 0)
    statuses = db.session.scalars(select(Booking.status).where(Booking.event_id == gig.id))
    assert set(statuses) == {"cancelled"}
    assert db.session.get(WaitlistEntry, waiting.id, populate_existing=True).status == "closed"
    emails = outbox()
    assert sorted(email["To"] for email in emails) == ["ana@example.com", "rui@example.com"]
    assert "has been cancelled (The venue flooded.)" in text_of(emails[0])
    assert client.get(f"/events/{gig.slug}/").status_code == 404
    dashboard = html.unescape(client.get("/host/").get_data(as_text=True))
    assert "Cancelled" in dashboard


def test_a_cancelled_event_stays_cancelled(client, gig):
    url = f"/host/events/{gig.slug}/cancel/"
    client.post(url, data={"csrf_token": csrf_token(client, url)})

    again = client.post(url, data={"csrf_token": csrf_token(client, url)})
    relist = client.post(f"/host/events/{gig.slug}/reactivate/",
                         data={"csrf_token": csrf_token(client, "/host/")})  # fmt: skip

    assert again.status_code == 409
    assert "already cancelled" in again.get_data(as_text=True)
    assert relist.status_code == 409
    assert not db.session.get(Event, gig.id, populate_existing=True).is_active


def test_an_event_that_has_started_cannot_be_cancelled(client, gig):
    gig.starts_at = datetime.now(UTC) - timedelta(minutes=5)
    db.session.commit()
    url = f"/host/events/{gig.slug}/cancel/"

    response = client.post(url, data={"csrf_token": csrf_token(client, url)})

    assert response.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_an_administrator_cancels_from_the_command_line(runner, db_session, outbox):
    event = make_event(title="Spam Fest")
    make_booking(event, user=make_user(email="fan@example.com"))
    db_session.commit()

    result = runner.invoke(args=["events", "cancel", event.slug, "--reason", "Spam", "--yes"])

    assert result.exit_code == 0, result.output
    assert "1 booking(s) cancelled" in result.output
    [email] = outbox()
    assert (email["To"], email["Subject"]) == ("fan@example.com", "Cancelled: Spam Fest")


def test_a_big_event_is_told_in_batches(app, db_session, outbox, runner):
    event = make_event(capacity=500)
    for n in range(120):
        make_booking(event, user=make_user(email=f"fan{n}@example.com"))
    db_session.commit()
    app.config["OUTBOX_BATCH_SIZE"], previous = 50, app.config["OUTBOX_BATCH_SIZE"]
    try:
        result = runner.invoke(args=["events", "cancel", event.slug, "--yes"])
    finally:
        app.config["OUTBOX_BATCH_SIZE"] = previous

    assert result.exit_code == 0, result.output
    assert len({email["To"] for email in outbox()}) == 120
    sent = select(func.count()).where(OutboxMessage.status == "sent")
    assert db.session.scalar(sent) == 120
