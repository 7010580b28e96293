"""Bad input the security review found answered with a 500: each gets a clear 4xx now.

PostgreSQL is where most of these broke (a too-long token is a DataError there, and psycopg2
refuses NUL in a string); SQLite stored them silently. Each test runs on both.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.forms import CONTROL_CHARACTERS_MESSAGE
from eventmate.models import Booking, Event, EventImage, Review, User
from tests.conftest import PASSWORD, post_form
from tests.factories import make_booking, make_event, make_image, make_member, now

HUGE = "9" * 5000  # past Python's 4,300-digit limit for int()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def booking_form(client, event) -> dict:
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    hidden = r'name="(csrf_token|request_token)" type="hidden" value="([^"]+)"'
    return dict(re.findall(hidden, page))


@pytest.mark.parametrize("token", ["t" * 65, "t" * 5000, "token\x00", "tøken"])
def test_a_forged_request_token_is_a_400_and_books_nothing(client, db_session, host, token):
    event = make_event()
    db_session.commit()
    form = {**booking_form(client, event), "quantity": "1", "request_token": token}
    response = client.post(f"/events/{event.slug}/book/", data=form)
    assert response.status_code == 400
    assert "That form has expired" in text_of(response)
    assert count(Booking) == 0


def test_a_quantity_of_5000_digits_is_a_400(client, db_session, host):
    event = make_event()
    db_session.commit()
    form = {**booking_form(client, event), "quantity": HUGE}
    response = client.post(f"/events/{event.slug}/book/", data=form)
    assert response.status_code == 400
    assert "Choose a whole number of seats" in text_of(response)
    assert count(Booking) == 0


def test_a_search_page_number_of_5000_digits_shows_page_one(client, db_session):
    make_event(title="Harbour Jazz Night")
    db_session.commit()
    response = client.get(f"/events/?page={HUGE}")
    assert response.status_code == 200
    page = text_of(response)
    assert "That page number doesn't exist; showing the first page." in page
    assert "Harbour Jazz Night" in page


def test_my_bookings_page_numbers_of_5000_digits_show_page_one(client, db_session, host):
    make_booking(make_event(title="Harbour Jazz Night"), user=host)
    db_session.commit()
    response = client.get(f"/me/bookings/?upcoming={HUGE}&past={HUGE}")
    assert response.status_code == 200
    assert "Harbour Jazz Night" in text_of(response)


def test_a_review_page_number_of_5000_digits_shows_page_one(client, db_session):
    event = make_event(title="Harbour Jazz Night")
    db_session.commit()
    response = client.get(f"/events/{event.slug}/?reviews={HUGE}")
    assert response.status_code == 302  # to the first page's URL (eventmate/pagecache/canonical)
    assert response.headers["Location"] == f"/events/{event.slug}/"
    assert "Harbour Jazz Night" in text_of(client.get(response.headers["Location"]))


def test_control_characters_in_a_registration_are_a_form_error(client, db_session):
    data = {"display_name": "Null\x00Byte", "email": "nul@example.com", "password": PASSWORD,
            "confirm": PASSWORD}  # fmt: skip
    response = post_form(client, "/register/", data)
    assert response.status_code == 400
    assert CONTROL_CHARACTERS_MESSAGE in text_of(response)
    assert count(User) == 0


def test_a_nul_in_the_login_email_is_a_form_error(client, db_session):
    response = post_form(client, "/login/", {"email": "a\x00@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert CONTROL_CHARACTERS_MESSAGE in text_of(response)


def test_a_control_character_in_the_hidden_next_url_does_not_block_signing_in(client, db_session):
    member = make_member()
    db_session.commit()
    data = {"email": member.email, "password": PASSWORD, "next": "/events/\x00"}
    response = post_form(client, "/login/", data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"  # safe_next_url refused the odd target


def test_a_nul_in_a_review_is_a_form_error_but_line_breaks_are_fine(client, db_session, host):
    event = make_event(starts_at=now() - timedelta(days=1))
    make_booking(event, user=host)
    db_session.commit()
    url = f"/events/{event.slug}/review/"
    refused = post_form(client, f"/events/{event.slug}/", {"rating": "5", "body": "Great\x00"},
                        action=url)  # fmt: skip
    assert refused.status_code == 400
    assert CONTROL_CHARACTERS_MESSAGE in text_of(refused)
    assert count(Review) == 0
    saved = post_form(client, f"/events/{event.slug}/", {"rating": "5", "body": "Great\r\n\tgig"},
                      action=url)  # fmt: skip
    assert saved.status_code == 303
    assert db.session.scalar(select(Review.body)) == "Great\r\n\tgig"


def test_a_nul_in_an_event_field_is_a_form_error(client, db_session, host):
    event = make_event(host=host, venue_name="Test Hall")
    db_session.commit()
    url = f"/host/events/{event.slug}/edit/"
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', client.get(url).text))
    fields.pop("csrf_token")
    response = post_form(client, url, {**fields, "venue_name": "Hall\x00"})
    assert response.status_code == 400
    assert CONTROL_CHARACTERS_MESSAGE in text_of(response)
    db.session.expire_all()
    assert db.session.scalar(select(Event.venue_name)) == "Test Hall"


def test_a_nul_in_image_alt_text_is_a_form_error(client, db_session, host):
    event = make_event(host=host)
    make_image(event, alt_text="Artwork")
    db_session.commit()
    url = f"/host/events/{event.slug}/images/"
    response = post_form(client, url, {"alt_text": "Stage\x00"})
    assert response.status_code == 400
    assert CONTROL_CHARACTERS_MESSAGE in text_of(response)
    assert count(EventImage) == 1
