"""Destructive actions take a second step that works without JavaScript (issue 16, item 2):
cancelling seats of a booking (some or all of them) and deactivating a listing each have a
page that says what will happen, and the confirmation page's main action is no longer the red
button."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.models import Booking, Event
from tests.conftest import csrf_token, page_text
from tests.factories import make_booking, make_event
from tests.mail import emails_to, text_of


@pytest.fixture
def booking(member, db_session):
    event = make_event(slug="quiz-night", title="Quiz Night", capacity=10)
    booked = make_booking(event, quantity=3, user=member, reference="QZ3N-7TTA")
    db_session.commit()
    return booked


def cancel_page_fields(client) -> dict[str, str]:
    page = client.get("/bookings/QZ3N-7TTA/cancel/").get_data(as_text=True)
    return dict(re.findall(r'name="(csrf_token|seen)" type="hidden" value="([^"]*)"', page))


def state(booking) -> tuple[str, int, int]:
    row = db.session.execute(
        select(Booking.status, Booking.quantity, Event.seats_booked)
        .join(Booking.event)
        .where(Booking.id == booking.id)
    ).one()
    return tuple(row)


def test_the_booking_page_leads_with_the_calendar_not_the_red_button(client, booking):
    page = page_text(client.get("/bookings/QZ3N-7TTA/"))
    assert ('<a class="button-primary button-inline" href="/events/quiz-night/calendar.ics">'
            "Add to calendar</a>") in page  # fmt: skip
    assert '<a href="/events/quiz-night/">View event</a>' in page
    assert '<a href="/bookings/QZ3N-7TTA/cancel/">Cancel seats…</a>' in page
    assert "button-danger" not in page
    assert "<form" not in page.split("<main", 1)[-1].split("</main>")[0]


def test_the_cancel_page_asks_first_and_changes_nothing(client, booking):
    response = client.get("/bookings/QZ3N-7TTA/cancel/")
    page = page_text(response)
    assert response.status_code == 200
    assert "Cancel seats for “Quiz Night”?" in page
    assert re.findall(r"<option[^>]*>(\d of 3)</option>", page) == ["3 of 3", "2 of 3", "1 of 3"]
    assert '<a href="/bookings/QZ3N-7TTA/">Keep my booking</a>' in page
    assert state(booking) == ("confirmed", 3, 3)


def test_cancelling_some_seats_keeps_the_rest(app, client, booking, outbox):
    response = client.post(
        "/bookings/QZ3N-7TTA/cancel/", data={**cancel_page_fields(client), "seats": "2"}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/bookings/QZ3N-7TTA/"
    assert state(booking) == ("confirmed", 1, 1)
    page = page_text(client.get("/bookings/QZ3N-7TTA/"))
    assert "2 seats of booking QZ3N-7TTA cancelled and released; 1 still booked." in page
    assert "You're going to Quiz Night" in page
    [email] = emails_to(app, "member@example.com", "booking_cancelled")
    assert email["Subject"] == "Seats cancelled: Quiz Night (QZ3N-7TTA)"
    assert "You cancelled 2 seats of your booking QZ3N-7TTA" in text_of(email)
    assert "1 seat is still booked for you" in text_of(email)


def test_the_same_form_sent_twice_cancels_once(client, booking):
    form = {**cancel_page_fields(client), "seats": "1"}
    assert client.post("/bookings/QZ3N-7TTA/cancel/", data=form).status_code == 303
    again = client.post("/bookings/QZ3N-7TTA/cancel/", data=form)

    assert again.status_code == 303
    assert "This booking changed meanwhile: check it and try again." in page_text(
        client.get(again.headers["Location"])
    )
    assert state(booking) == ("confirmed", 2, 2)


def test_cancelling_every_seat_cancels_the_booking(client, booking):
    response = client.post(
        "/bookings/QZ3N-7TTA/cancel/", data={**cancel_page_fields(client), "seats": "3"}
    )
    assert response.headers["Location"] == "/me/bookings/"
    assert state(booking) == ("cancelled", 3, 0)
    # Nothing left to cancel: the page sends the member back to the booking.
    back = client.get("/bookings/QZ3N-7TTA/cancel/")
    assert back.status_code == 303
    assert "This booking is already cancelled." in page_text(client.get("/bookings/QZ3N-7TTA/"))


@pytest.mark.parametrize(("seats", "message"), [
    ("4", "Choose between 1 and 3 seats to cancel."),
    ("0", "Number must be at least 1."),
    ("lots", "Invalid Choice: could not coerce."),
])  # fmt: skip
def test_a_number_of_seats_the_booking_lacks_is_a_form_error(client, booking, seats, message):
    response = client.post(
        "/bookings/QZ3N-7TTA/cancel/", data={**cancel_page_fields(client), "seats": seats}
    )
    assert response.status_code == 400
    assert message in page_text(response)
    assert state(booking) == ("confirmed", 3, 3)


def test_deactivating_a_listing_is_confirmed_first(client, db_session, host):
    event = make_event(host=host, slug="pottery", title="Pottery", capacity=8)
    make_booking(event, quantity=2)
    db_session.commit()
    dashboard = page_text(client.get("/host/"))
    assert '<a href="/host/events/pottery/deactivate/">Deactivate</a>' in dashboard

    page = page_text(client.get("/host/events/pottery/deactivate/"))
    assert "Take “Pottery” off the site?" in page
    assert "Its 2 booked seats are kept" in page
    assert '<a href="/host/">Keep it listed</a>' in page
    assert client.get("/events/pottery/").status_code == 200  # asking changed nothing

    token = csrf_token(client, "/host/events/pottery/deactivate/")
    response = client.post("/host/events/pottery/deactivate/", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/events/pottery/").status_code == 404
    assert "Reactivate</button>" in page_text(client.get("/host/"))
