"""Pages for signed-in members: the shared page cached, the personal parts fresh
(eventmate/pagecache/pages.py). Redis in the PostgreSQL run."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.hosts.services import set_active
from eventmate.models import Booking, Review
from tests.conftest import hidden_fields, post_form, sign_in
from tests.factories import make_booking, make_event, make_member, now

TOKEN_VALUE = re.compile(r'(name="(?:csrf|request)_token"(?: type="hidden")? value=")[^"]+')


def without_tokens(response) -> str:
    return TOKEN_VALUE.sub(r"\1…", response.get_data(as_text=True))


@pytest.fixture
def mina(client, login, db_session):
    member = make_member(display_name="Mina Member", email="mina@example.com")
    db_session.commit()
    login(member)
    client.get("/me/bookings/")  # shows (and so clears) the welcome flash
    return member


@pytest.mark.parametrize("url", ["/", "/events/?q=jazz", "/categories/music/", "/events/{slug}/"])
def test_a_members_page_is_rendered_once_then_assembled_without_its_queries(
    app, client, event, mina, count_queries, url
):
    event_page = "{slug}" in url
    url = url.format(slug=event.slug)
    with count_queries() as rendering:
        first = client.get(url)
    with count_queries() as assembling:
        second = client.get(url)
    assert first.status_code == second.status_code == 200
    if event_page and not app.config["CACHE_IS_SHARED"]:
        assert assembling.count == rendering.count  # a per-process cache keeps no event page
    else:
        # Only the signed-in member is loaded (if the user cache doesn't have them).
        assert assembling.count <= 1
        assert assembling.count < rendering.count
    assert without_tokens(first) == without_tokens(second)
    assert "Mina Member" in second.get_data(as_text=True)
    assert "Log out" in second.get_data(as_text=True)
    assert second.headers["Cache-Control"] == "private, no-store"


def test_another_member_gets_their_own_name_and_a_working_token(app, client, mina):
    client.get("/events/")  # Mina's visit stores the shared part
    make_member(display_name="Bea Booker", email="bea@example.com")
    other = app.test_client()
    sign_in(other, "bea@example.com")
    page = other.get("/events/").get_data(as_text=True)
    assert "Bea Booker" in page
    assert "Mina Member" not in page
    logout = post_form(other, "/events/", {}, action="/logout/")
    assert logout.status_code == 302  # the token on the assembled page is Bea's own


def test_a_listing_change_reaches_members_at_once(client, event, mina):
    assert "Harbour Jazz Night" in client.get("/events/").get_data(as_text=True)
    set_active(event, False)
    assert "Harbour Jazz Night" not in client.get("/events/").get_data(as_text=True)


def test_flash_messages_show_on_an_assembled_page(app, client, mina, db_session):
    client.get("/")  # Mina's visit stores the shared part
    make_member(display_name="Flo", email="flo@example.com")
    db_session.commit()
    flo = app.test_client()
    sign_in(flo, "flo@example.com")
    welcome = flo.get("/").get_data(as_text=True)  # assembled from the stored skeleton
    assert "Welcome back, Flo." in welcome
    assert "Welcome back" not in flo.get("/").get_data(as_text=True)  # shown once


def test_an_assembled_event_page_has_a_fresh_booking_token_each_time(client, event, mina):
    url = f"/events/{event.slug}/"
    client.get(url)  # stores the shared part
    tokens = [hidden_fields(client, url)["request_token"] for _ in range(2)]
    assert tokens[0] != tokens[1]  # one-time booking tokens stay one per render


def test_booking_from_an_assembled_page_books_once_and_shows_the_new_seats_left(
    client, mina, db_session
):
    event = make_event(capacity=5, max_per_booking=10)
    db_session.commit()
    url = f"/events/{event.slug}/"
    client.get(url)  # stores the shared part
    form = {**hidden_fields(client, url), "quantity": "3"}  # from the assembled page
    assert client.post(f"/events/{event.slug}/book/", data=form).status_code == 303
    assert client.post(f"/events/{event.slug}/book/", data=form).status_code == 303  # resubmit
    bookings = db.session.scalars(select(Booking).where(Booking.event_id == event.id)).all()
    assert [booking.quantity for booking in bookings] == [3]
    page = client.get(url).get_data(as_text=True)
    assert "2 of 5 seats left" in page
    # The booking form's choices come from the fresh facts.
    choices = re.search(r'<select id="quantity" name="quantity">(.*?)</select>', page, re.S)[1]
    assert re.findall(r'<option value="(\d+)">', choices) == ["1", "2"]


def test_a_sold_out_events_assembled_page_has_no_booking_form(client, mina, db_session):
    sold_out = make_event(capacity=2, seats_booked=2)
    db_session.commit()
    for _ in range(2):
        page = client.get(f"/events/{sold_out.slug}/").get_data(as_text=True)
        assert "every seat has been taken" in page
        assert 'class="book-form"' not in page


def test_only_the_attendee_gets_a_review_form_on_an_assembled_page(app, client, mina, db_session):
    past = make_event(starts_at=now() - timedelta(days=1))
    make_booking(past, user=mina)
    make_member(display_name="Bea Booker", email="bea@example.com")
    db_session.commit()
    url = f"/events/{past.slug}/"
    bea = app.test_client()
    sign_in(bea, "bea@example.com")
    assert "How was it?" not in bea.get(url).get_data(as_text=True)  # Bea stores the shared part
    assert "How was it?" in client.get(url).get_data(as_text=True)  # Mina's page is assembled
    review = {**hidden_fields(client, url), "rating": "5", "body": "Superb"}
    assert client.post(f"/events/{past.slug}/review/", data=review).status_code == 303
    assert db.session.scalar(select(Review.body).where(Review.event_id == past.id)) == "Superb"
    mine, theirs = client.get(url).get_data(as_text=True), bea.get(url).get_data(as_text=True)
    assert "Update review" in mine
    assert "Delete my review" in mine
    assert "Superb" in theirs
    assert "Update review" not in theirs


def test_a_personal_part_missing_a_value_is_an_error_not_a_blank(app):
    from jinja2 import UndefinedError

    from eventmate.pagecache.pages import personal_parts_environment

    environment = personal_parts_environment(app)
    with pytest.raises(UndefinedError):
        environment.from_string("{{ event_facts.seats_left }}").render()
    assert app.jinja_env.from_string("{{ event_facts }}").render() == ""  # pages stay lenient
