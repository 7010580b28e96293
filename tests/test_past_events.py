"""After an event (issue 16, item 7): its page says it has ended (no booking, seats or
calendar), reviews open when it ends rather than when it starts, past bookings invite a
review, and every event page links to its host's profile (upcoming events, past ones with
their ratings, the latest reviews)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from eventmate.models import Review
from tests.conftest import csrf_token, page_text
from tests.factories import make_booking, make_event, make_review, make_user, now


def test_an_ended_events_page_says_so_without_seats_booking_or_calendar(client, db_session):
    event = make_event(slug="done", starts_at=now() - timedelta(days=30), capacity=40)
    db_session.commit()

    page = page_text(client.get("/events/done/"))

    assert "This event has ended." in page
    assert "already started" not in page
    assert "seats left" not in page
    assert "Add to calendar" not in page
    assert "Log in to book" not in page
    assert event.title in page


def test_a_running_event_has_started_and_shows_no_seats(client, db_session):
    started = now() - timedelta(hours=1)
    make_event(slug="on-now", starts_at=started, ends_at=started + timedelta(hours=2))
    db_session.commit()

    page = page_text(client.get("/events/on-now/"))

    assert "This event has already started." in page
    assert "seats left" not in page
    assert "Add to calendar" in page  # it is still on


def test_reviews_open_when_the_event_ends_not_when_it_starts(client, db_session, member):
    running = make_event(slug="running", starts_at=now() - timedelta(hours=1),
                         ends_at=now() + timedelta(hours=1))  # fmt: skip
    ended = make_event(slug="ended", starts_at=now() - timedelta(hours=3),
                       ends_at=now() - timedelta(hours=1))  # fmt: skip
    for event in (running, ended):
        make_booking(event, user=member)
    db_session.commit()

    assert 'id="your-review"' not in page_text(client.get("/events/running/"))
    token = csrf_token(client, "/me/bookings/")
    early = client.post("/events/running/review/", data={"csrf_token": token, "rating": "5"})
    assert early.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Review)) == 0
    page = page_text(client.get("/events/ended/"))
    assert 'id="your-review"' in page
    assert "How was it?" in page


def test_past_bookings_invite_a_review_until_written(client, db_session, member):
    event = make_event(slug="gig", title="Old Gig", starts_at=now() - timedelta(days=3))
    booking = make_booking(event, user=member, reference="OLDG-1G1G")
    db_session.commit()

    mine = page_text(client.get("/me/bookings/"))
    assert '<a href="/events/gig/#your-review">How was it? Write a review</a>' in mine
    detail = page_text(client.get(f"/bookings/{booking.reference}/"))
    assert "You went to Old Gig" in detail
    assert "You're going" not in detail
    assert "How was it? Write a review" in detail

    make_review(event, user=member, rating=4)
    db_session.commit()
    mine = page_text(client.get("/me/bookings/"))
    assert 'Your review: <span aria-label="4 out of 5">★★★★☆</span>' in mine
    assert "Write a review" not in mine


def test_every_event_page_links_to_its_hosts_profile(client, db_session):
    host = make_user(is_host=True, display_name="Rosa Hosts")
    make_event(slug="soon", host=host)
    db_session.commit()

    page = page_text(client.get("/events/soon/"))

    assert f'Hosted by <a href="/hosts/{host.id}/"><strong>Rosa Hosts</strong></a>' in page


def test_the_host_profile_shows_upcoming_past_with_ratings_and_reviews(
    client, db_session, count_queries
):
    host = make_user(is_host=True, display_name="Rosa Hosts")
    make_event(host=host, title="Next Salsa", starts_at=now() + timedelta(days=5))
    make_event(host=host, title="Hidden One", is_active=False)
    old = make_event(host=host, title="Salsa Classic", starts_at=now() - timedelta(days=20))
    make_review(old, rating=5, body="Brilliant teacher.", user=make_user(display_name="Ana"))
    make_review(old, rating=4, body="Great fun.", user=make_user(display_name="Ben"))
    make_event(title="Someone else's", starts_at=now() + timedelta(days=2))
    db_session.commit()

    with count_queries() as counter:
        response = client.get(f"/hosts/{host.id}/")
    page = page_text(response)

    assert response.status_code == 200
    assert "<h1>Rosa Hosts</h1>" in page
    assert "4.5</strong> out of 5 from 2 reviews" in page
    upcoming = page.split('id="upcoming-heading"')[1].split('id="past-heading"')[0]
    assert "Next Salsa" in upcoming
    assert "Hidden One" not in page
    assert "Someone else" not in page
    past = page.split('id="past-heading"')[1].split('id="reviews-heading"')[0]
    assert "Salsa Classic" in past
    assert "4.5 (2 reviews)" in past
    reviews = page.split('id="reviews-heading"')[1]
    assert "Brilliant teacher." in reviews
    assert "Great fun." in reviews
    assert counter.count <= 6  # the host, rating, upcoming, past, reviews (+ the session's user)


def test_only_active_hosts_have_a_profile(client, db_session):
    member = make_user(display_name="Not a host")
    gone = make_user(is_host=True, is_active=False)
    db_session.commit()
    assert client.get(f"/hosts/{member.id}/").status_code == 404
    assert client.get(f"/hosts/{gone.id}/").status_code == 404
    assert client.get("/hosts/999999/").status_code == 404
