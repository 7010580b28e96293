"""Deleting one's account (issue 16, item 8): a confirm page that works without JavaScript and
asks for the password; upcoming bookings cancelled with their seats given back (to the
waitlist first); past bookings and reviews kept with nothing personal left; every session
ended; a host with booked upcoming events refused with what to do first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.models import Booking, Event, OutboxMessage, Review, User, WaitlistEntry
from eventmate.notifications import outbox as notifications
from tests.accounts import account, signed_in
from tests.conftest import PASSWORD, page_text, post_form, sign_in
from tests.factories import make_booking, make_event, make_member, make_review

NOW = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # New Year's Eve, late


def delete(client, password=PASSWORD):
    return post_form(client, "/account/delete/", {"current_password": password})


@pytest.fixture
def member(client, db_session, clock):
    """Signed in at NOW (so that the session is fresh then), as member@example.com ("Mira")."""
    clock(NOW)
    user = make_member(email="member@example.com", display_name="Mira")
    db_session.commit()
    sign_in(client, user.email)
    return user


@pytest.fixture
def host(client, db_session, clock):
    clock(NOW)
    user = make_member(email="host@example.com", is_host=True, display_name="Hostess")
    db_session.commit()
    sign_in(client, user.email)
    return user


@pytest.fixture
def mira(member):
    """The signed-in member with an upcoming booking (3 seats), a past one with a review, and
    a place in the waitlist of a sold-out event."""
    upcoming = make_event(title="Winter Gig", capacity=10, starts_at=NOW + timedelta(days=3))
    past = make_event(title="Autumn Talk", starts_at=NOW - timedelta(days=30))
    full = make_event(title="Sold Out", capacity=2, starts_at=NOW + timedelta(days=5))
    make_booking(upcoming, quantity=3, user=member, reference="WG3N-7TTA")
    make_booking(past, quantity=2, user=member, reference="AT2N-7TTA")
    make_booking(full, quantity=2)
    make_review(past, user=member, rating=5, body="Loved it")
    db.session.add(WaitlistEntry(event=full, user=member, quantity=1))
    db.session.commit()
    return {"upcoming": upcoming.id, "past": past.id, "full": full.id, "id": member.id}


def test_the_confirm_page_says_what_happens_and_asks_for_the_password(client, mira):
    page = client.get("/account/delete/")
    assert page.status_code == 200
    text = page_text(page)
    assert "Delete your account?" in text
    assert "Your 1 upcoming booking (Winter Gig) is cancelled" in text
    assert re.search(r"<input[^>]*name=\"current_password\"[^>]*type=\"password\"", text)
    assert 'class="button-danger">Delete my account</button>' in text
    assert "<script" not in text.split("<main", 1)[1].split("</main>")[0]


def test_deleting_cancels_upcoming_bookings_and_returns_their_seats(app, client, mira, outbox):
    elsewhere = app.test_client()  # the same member, signed in on another device
    sign_in(elsewhere, "member@example.com")

    response = delete(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "Your account is deleted. 1 upcoming booking cancelled." in page_text(client.get("/"))
    assert not signed_in(client)
    assert not signed_in(elsewhere)

    db.session.expire_all()
    upcoming = db.session.get(Event, mira["upcoming"])
    assert (upcoming.seats_booked, upcoming.seats_left) == (0, 10)
    bookings = {b.reference: b for b in db.session.scalars(select(Booking))}
    assert bookings["WG3N-7TTA"].status == "cancelled"
    assert bookings["AT2N-7TTA"].status == "confirmed"  # a past booking is kept, as history
    assert db.session.get(Event, mira["past"]).seats_booked == 2
    entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.user_id == mira["id"]))
    assert entry.status == "left"
    # Nobody is told of the cancellation: the address is gone.
    assert outbox() == []


def test_a_deleted_account_keeps_nothing_personal(app, client, mira):
    # Email still waiting to go, to the member and to someone else.
    notifications.queue("verify_email", "verify:mira", "member@example.com", user_id=mira["id"])
    notifications.queue("verify_email", "verify:other", "other@example.com")
    db.session.commit()
    delete(client)
    db.session.expire_all()
    user = db.session.get(User, mira["id"])
    assert user.email == f"deleted-{mira['id']}@deleted.invalid"
    assert user.display_name == "Former member"
    assert (user.is_active, user.is_verified, user.is_host) == (False, False, False)
    users = repr(db.session.execute(select(User.__table__)).all())
    assert "member@example.com" not in users
    assert "Mira" not in users
    outbox_rows = repr(db.session.execute(select(OutboxMessage.__table__)).all())
    assert "member@example.com" not in outbox_rows
    assert "other@example.com" in outbox_rows
    review = db.session.scalar(select(Review).where(Review.user_id == mira["id"]))
    assert review.rating == 5  # kept, under the tombstone
    past = db.session.get(Event, mira["past"])
    assert "Former member" in page_text(client.get(f"/events/{past.slug}/"))
    # The old address and password no longer sign in; the address is free for a new account.
    login = post_form(app.test_client(), "/login/",
                      {"email": "member@example.com", "password": PASSWORD})  # fmt: skip
    assert login.status_code == 400
    assert account("member@example.com") is None


def test_freed_seats_go_to_the_waitlist_first(app, client, db_session, clock, outbox):
    clock(NOW)
    leaving = make_member(email="leaving@example.com")
    waiting = make_member(email="waiting@example.com")
    full = make_event(capacity=2, starts_at=NOW + timedelta(days=2))
    make_booking(full, quantity=2, user=leaving)
    db.session.add(WaitlistEntry(event=full, user=waiting, quantity=2))
    db_session.commit()
    sign_in(client, "leaving@example.com")

    assert delete(client).status_code == 303
    db.session.expire_all()
    event = db.session.get(Event, full.id)
    assert (event.seats_booked, event.seats_held) == (0, 2)  # held for the member in line
    entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.user_id == waiting.id))
    assert entry.status == "offered"
    assert [email["To"] for email in outbox()] == ["waiting@example.com"]


def test_an_offer_held_for_the_member_passes_to_the_next_in_line(client, member):
    full = make_event(capacity=2, starts_at=NOW + timedelta(days=2), seats_held=1)
    make_booking(full, quantity=1)
    db.session.add_all([
        WaitlistEntry(event=full, user=member, quantity=1, status="offered", offered_at=NOW,
                      hold_expires_at=NOW + timedelta(minutes=30)),
        WaitlistEntry(event=full, user=make_member(), quantity=1),
    ])  # fmt: skip
    db.session.commit()
    assert delete(client).status_code == 303
    db.session.expire_all()
    statuses = dict(db.session.execute(
        select(WaitlistEntry.user_id, WaitlistEntry.status).where(WaitlistEntry.event_id == full.id)
    ).all())  # fmt: skip
    assert statuses.pop(member.id) == "declined"
    assert list(statuses.values()) == ["offered"]
    assert db.session.get(Event, full.id).seats_held == 1


@pytest.mark.parametrize("password", ["not my password at all", ""])
def test_a_wrong_password_deletes_nothing(client, mira, password):
    response = delete(client, password)
    assert response.status_code == 400
    assert ("That isn't your current password." if password else "This field is required.") in (
        page_text(response)
    )
    assert signed_in(client)
    db.session.expire_all()
    assert db.session.get(Event, mira["upcoming"]).seats_booked == 3
    assert account("member@example.com").is_active


def test_a_host_with_booked_upcoming_events_is_told_what_to_do_first(client, host):
    event = make_event(host=host, title="Host's Gala", starts_at=NOW + timedelta(days=9))
    make_booking(event, quantity=2)
    db.session.commit()

    page = page_text(client.get("/account/delete/"))
    assert "You host upcoming events that people have booked: “Host's Gala”" in page
    assert 'href="/host/"' in page or "host dashboard" in page
    assert "Delete my account</button>" not in page

    response = delete(client)
    assert response.status_code == 409
    assert "Cancel them from your host dashboard" in page_text(response)
    assert signed_in(client)
    db.session.expire_all()
    assert db.session.get(User, host.id).is_active
    assert db.session.get(Event, event.id).is_listed


def test_a_host_without_booked_events_can_delete_and_their_events_leave_the_site(client, host):
    empty = make_event(host=host, starts_at=NOW + timedelta(days=9))
    past = make_event(host=host, starts_at=NOW - timedelta(days=9))
    make_booking(past, quantity=1)
    db.session.commit()
    assert delete(client).status_code == 303
    db.session.expire_all()
    assert not db.session.get(Event, empty.id).is_listed
    assert db.session.get(Event, past.id).seats_booked == 1  # the attendees' history is kept
    assert client.get(f"/events/{empty.slug}/").status_code == 404


@pytest.mark.parametrize("url", ["/account/", "/account/delete/"])
def test_the_account_pages_cost_the_same_for_1_or_20_bookings(client, member, count_queries,
                                                              url):  # fmt: skip
    counts = []
    for bookings in (1, 19):
        for _ in range(bookings):
            make_booking(make_event(starts_at=NOW + timedelta(days=4)), user=member)
        db.session.commit()
        client.get(url)  # the signed-in member cached (with Redis), as on any later page
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[0] <= 3, counter.statements
