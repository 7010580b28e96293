"""When an event leaves the site (issue 16, item 3), its attendees are told where their booking
stands, on the booking's page, in "My bookings" and at the event's old address, instead of
"You're going… Confirmed" and a link to a 404."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from eventmate.bookings.services import cancel_booking
from eventmate.hosts.services import cancel_event, suspend
from tests.conftest import page_text, sign_in
from tests.factories import make_booking, make_event, make_member


@pytest.fixture
def booked(member, db_session):
    event = make_event(slug="harbour-gig", title="Harbour Gig", capacity=20)
    booking = make_booking(event, quantity=2, user=member, reference="HG7A-K2PQ")
    db_session.commit()
    return event, booking


def test_a_cancelled_events_booking_says_cancelled_by_the_host(client, booked):
    event, _ = booked
    cancel_event(event, "The venue flooded")
    called_off = event.cancelled_at.astimezone(ZoneInfo(event.city.timezone))

    page = page_text(client.get("/bookings/HG7A-K2PQ/"))
    assert "Cancelled: Harbour Gig" in page
    assert "You're going" not in page
    assert '<span class="status status--host-cancelled">Cancelled by the host</span>' in page
    assert "<strong>This event was called off</strong> on" in page
    assert f">{called_off:%-d %b %Y}" in page
    assert 'href="/events/harbour-gig/"' not in page  # no link to a page that isn't there
    assert "Cancel this booking" not in page

    mine = page_text(client.get("/me/bookings/"))
    assert "HG7A-K2PQ</span> · <span class=\"status status--host-cancelled\">" in mine


def test_the_old_address_tells_an_attendee_and_is_a_bare_404_for_others(app, client, booked):
    event, _ = booked
    stranger = make_member(display_name="Stranger")
    cancel_event(event)

    response = client.get("/events/harbour-gig/")
    assert response.status_code == 404
    page = page_text(response)
    assert "<h1>Harbour Gig</h1>" in page
    assert "reference HG7A-K2PQ" in page
    assert "Cancelled by the host" in page
    assert 'href="/bookings/HG7A-K2PQ/"' in page

    with app.test_client() as other:
        sign_in(other, stranger.email)
        response = other.get("/events/harbour-gig/")
        assert response.status_code == 404
        assert "Harbour Gig" not in page_text(response)
    with app.test_client() as anonymous:
        response = anonymous.get("/events/harbour-gig/")
        assert response.status_code == 404
        assert "Harbour Gig" not in page_text(response)


def test_a_suspended_events_booking_stands_on_hold(client, booked):
    event, _ = booked
    suspend(event, "Under review")

    page = page_text(client.get("/bookings/HG7A-K2PQ/"))
    assert "On hold: Harbour Gig" in page
    assert '<span class="status status--suspended">Suspended</span>' in page
    assert "This event is off EventMate for now" in page
    assert "Your booking still stands." in page
    assert 'href="/events/harbour-gig/"' not in page

    response = client.get("/events/harbour-gig/")
    assert response.status_code == 404
    assert "Your booking still stands." in page_text(response)


def test_a_booking_cancelled_before_the_event_was_is_the_members_own(client, booked):
    event, booking = booked
    cancel_booking(booking)
    cancel_event(event)

    page = page_text(client.get("/bookings/HG7A-K2PQ/"))
    assert '<span class="status status--cancelled">Cancelled</span>' in page
    assert "called off" not in page


def test_a_listed_events_booking_is_confirmed_as_before(client, booked):
    page = page_text(client.get("/bookings/HG7A-K2PQ/"))
    assert "You're going to Harbour Gig" in page
    assert '<span class="status status--confirmed">Confirmed</span>' in page
    assert 'href="/events/harbour-gig/"' in page
