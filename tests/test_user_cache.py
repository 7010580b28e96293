"""The signed-in member comes from the cache, and a change to the member shows at once
(eventmate/auth/user_cache.py). Redis in the PostgreSQL run."""

from __future__ import annotations

import pytest

from eventmate.auth.user_cache import CACHED_COLUMNS, COLUMNS_ID
from eventmate.bookings.services import book_seats
from eventmate.extensions import cache, db
from tests.conftest import cache_switched_on
from tests.factories import make_event, make_member
from tests.test_bookings import book


@pytest.fixture
def user_cache(app):
    with cache_switched_on(app, "USER_CACHE_SECONDS"):
        yield


@pytest.fixture
def mina(client, login, db_session, user_cache):
    member = make_member(display_name="Mina Member", email="mina@example.com")
    db_session.commit()
    login(member)
    return member


def user_queries(counter) -> list[str]:
    return [statement for statement in counter.statements if "FROM users" in statement]


def test_a_signed_in_request_loads_the_member_without_a_query(client, mina, count_queries):
    client.get("/me/bookings/")  # loads the member once, and keeps it
    with count_queries() as counter:
        page = client.get("/me/bookings/")
    assert page.status_code == 200
    assert "Mina Member" in page.get_data(as_text=True)
    assert user_queries(counter) == []
    _versions, (columns, _booked) = cache.get(f"user:{mina.id}:{COLUMNS_ID}")
    assert dict(zip(CACHED_COLUMNS, columns, strict=True))["display_name"] == "Mina Member"
    assert "password_hash" not in CACHED_COLUMNS  # the hash stays in the database
    assert mina.password_hash not in columns


def test_a_new_name_shows_at_the_next_request(client, mina, db_session):
    client.get("/me/bookings/")
    mina.display_name = "Mina Renamed"
    db_session.commit()
    page = client.get("/me/bookings/").get_data(as_text=True)
    assert "Mina Renamed" in page
    assert "Mina Member" not in page


def test_a_deactivated_member_is_signed_out_at_the_next_request(client, mina, db_session):
    assert client.get("/me/bookings/").status_code == 200
    mina.is_active = False
    db_session.commit()
    response = client.get("/me/bookings/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_the_cached_member_still_loads_what_is_not_cached(app, client, mina, count_queries):
    from eventmate.auth.sessions import load_user

    client.get("/me/bookings/")  # cached
    db.session.expunge_all()  # as in a new request's database session
    with app.test_request_context(), count_queries() as counter:
        member = load_user(mina.get_id())
        assert member.display_name == "Mina Member"
        assert user_queries(counter) == []
        assert member.password_hash.startswith("$argon2id$")  # loaded when asked for
        assert len(user_queries(counter)) == 1


def test_a_snapshot_read_before_a_change_and_stored_after_it_is_not_served(
    client, mina, db_session
):
    client.get("/me/bookings/")
    late = cache.get(f"user:{mina.id}:{COLUMNS_ID}")  # what a slow request read before the change
    mina.display_name = "Mina Renamed"
    db_session.commit()
    cache.set(f"user:{mina.id}:{COLUMNS_ID}", late)  # ...and stored after it
    assert "Mina Renamed" in client.get("/me/bookings/").get_data(as_text=True)


def booking_queries(counter) -> list[str]:
    return [statement for statement in counter.statements if "FROM bookings" in statement]


def test_an_event_page_asks_for_the_members_seats_only_if_they_booked_it(
    client, mina, db_session, count_queries
):
    booked, other = make_event(capacity=50), make_event(capacity=50)
    db_session.commit()
    for event in (booked, other):
        client.get(f"/events/{event.slug}/")  # the member and the pages, cached
    assert book(client, booked, "2").status_code == 303  # a new booking: a new snapshot...
    client.get("/me/bookings/")  # ...taken here

    with count_queries() as counter:
        page = client.get(f"/events/{other.slug}/").get_data(as_text=True)
    assert booking_queries(counter) == []  # the snapshot knows there is no booking of it
    assert "You're going" not in page
    with count_queries() as counter:
        page = client.get(f"/events/{booked.slug}/").get_data(as_text=True)
    assert len(booking_queries(counter)) == 1
    assert "You're going</strong> — 2 seats" in page


def test_a_booking_made_elsewhere_shows_at_the_next_request(app, client, mina, db_session):
    event = make_event(capacity=50)
    db_session.commit()
    assert "You're going" not in client.get(f"/events/{event.slug}/").get_data(as_text=True)
    book_seats(mina, event, 3, "another-device")  # the service, as another device's request
    db_session.commit()
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert "You're going</strong> — 3 seats" in page
