"""An event's page knows the member's own seats (issue 16, item 6): "You're going", a link to
the booking, and a form for more seats only while the per-member limit (the event's
max_per_booking, over all of the member's bookings of it) allows."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.models import Booking, Event
from tests.factories import make_booking, make_event
from tests.test_bookings import book, booking_form, cancel


def event_page(client, event) -> str:
    response = client.get(f"/events/{event.slug}/")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def seat_choices(page: str) -> list[str]:
    found = re.search(r'<select id="quantity" name="quantity">(.*?)</select>', page, re.S)
    return re.findall(r'<option value="(\d+)">', found[1]) if found else []


def seats_booked(event) -> int:
    return db.session.scalar(select(Event.seats_booked).where(Event.id == event.id))


def test_after_booking_the_page_says_youre_going_and_offers_only_what_is_allowed(
    client, db_session, member
):
    event = make_event(capacity=50, max_per_booking=5)
    db_session.commit()
    assert seat_choices(event_page(client, event)) == ["1", "2", "3", "4", "5"]

    reference = book(client, event, "2").headers["Location"].split("/")[-2]

    page = event_page(client, event)
    assert "<strong>You're going</strong> — 2 seats ·" in page
    assert f'<a href="/bookings/{reference}/">View booking</a>' in page
    assert '<label for="quantity">More seats</label>' in page
    assert seat_choices(page) == ["1", "2", "3"]
    assert ">Book more</button>" in page


def test_at_the_limit_there_is_no_form_and_a_stale_one_is_refused(client, db_session, member):
    event = make_event(capacity=50, max_per_booking=3)
    db_session.commit()
    stale = booking_form(client, event)
    assert book(client, event, "3").status_code == 303

    page = event_page(client, event)
    assert "<strong>You're going</strong> — 3 seats" in page
    assert seat_choices(page) == []
    assert "3 seats is the most one member can book for this event." in page

    refused = book(client, event, "1", form=stale)
    assert refused.status_code == 409
    assert "You already have 3 seats for this event, the most one member can book." in (
        html.unescape(refused.get_data(as_text=True))
    )
    assert seats_booked(event) == 3
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_more_than_the_rest_of_the_limit_is_refused_with_what_is_left(client, db_session, member):
    event = make_event(capacity=50, max_per_booking=3)
    db_session.commit()
    book(client, event, "2")

    refused = book(client, event, "2")

    assert refused.status_code == 409
    assert "you can book 1 more seat at most (3 per member)" in html.unescape(
        refused.get_data(as_text=True)
    )
    assert seats_booked(event) == 2
    assert book(client, event, "1").status_code == 303
    assert seats_booked(event) == 3


def test_two_bookings_link_to_my_bookings(client, db_session, member):
    event = make_event(capacity=50, max_per_booking=6)
    db_session.commit()
    book(client, event, "1")
    book(client, event, "2")

    page = event_page(client, event)
    assert "<strong>You're going</strong> — 3 seats" in page
    assert '<a href="/me/bookings/">View your bookings</a>' in page


def test_cancelled_bookings_and_other_members_seats_dont_count(client, db_session, member):
    event = make_event(capacity=50, max_per_booking=4)
    make_booking(event, quantity=4)  # someone else's
    db_session.commit()
    book(client, event, "4")
    mine = db.session.scalar(select(Booking).where(Booking.user_id == member.id))
    assert cancel(client, mine).status_code == 303

    page = event_page(client, event)
    assert "You're going" not in page
    assert seat_choices(page) == ["1", "2", "3", "4"]
