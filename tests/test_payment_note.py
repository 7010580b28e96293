"""How paid events are paid (issue 16, item 1): the total is shown before the member books, and
the site's PAYMENT_NOTE ("paid at the venue" in this release) is said the same way on the event
page, the booking's page, "My bookings", the .ics and the emails."""

from __future__ import annotations

import re
from decimal import Decimal

from icalendar import Calendar

from config import Config
from tests.conftest import page_text
from tests.factories import make_event
from tests.mail import emails_to, html_of, text_of
from tests.test_bookings import book

NOTE = "Paid at the venue: nothing is charged online."


def test_the_event_page_gives_the_price_a_seat_and_each_choices_total(client, member, db_session):
    make_event(slug="paid", price=Decimal("12.50"), currency="EUR", max_per_booking=3)
    db_session.commit()

    page = page_text(client.get("/events/paid/"))

    assert "€12.50 a seat" in page
    assert page.count(NOTE) == 2  # with the price, and under the Book button
    assert re.findall(r'<option value="\d">([^<]+)</option>', page) == [
        "1 seat — €12.50", "2 seats — €25.00", "3 seats — €37.50",
    ]  # fmt: skip


def test_a_free_event_says_free_and_nothing_about_paying(client, member, db_session):
    make_event(slug="free", price=Decimal("0"), max_per_booking=2)
    db_session.commit()

    page = page_text(client.get("/events/free/"))

    assert "Free" in page
    assert NOTE not in page
    assert re.findall(r'<option value="\d">([^<]+)</option>', page) == ["1 seat", "2 seats"]


def test_the_booking_my_bookings_the_feed_and_the_email_say_the_same(
    app, client, member, db_session, outbox
):
    event = make_event(slug="paid", title="Paid Gig", price=Decimal("10"), currency="EUR")
    db_session.commit()
    location = book(client, event, "2").headers["Location"]

    booking_page = page_text(client.get(location))
    assert "€20.00" in booking_page
    assert NOTE in booking_page
    mine = page_text(client.get("/me/bookings/"))
    assert "2 seats · €20.00 ·" in mine
    assert NOTE in mine
    feed = re.search(r'value="http://localhost(/me/bookings\.ics\?key=[^"]+)"', mine)[1]
    [vevent] = Calendar.from_ical(client.get(feed).data).walk("VEVENT")
    assert str(vevent["description"]).startswith(f"Total €20.00 for 2 seats. {NOTE}")
    [email] = emails_to(app, "member@example.com", "booking_confirmed")
    assert f"€20.00 ({NOTE})" in text_of(email)
    assert NOTE in html_of(email)


def test_the_note_is_the_sites_own(tmp_path):
    settings = Config.settings_from_env({"PAYMENT_NOTE": "Pay by card at the door."}, str(tmp_path))
    assert settings["PAYMENT_NOTE"] == "Pay by card at the door."
    assert Config.settings_from_env({}, str(tmp_path))["PAYMENT_NOTE"] == NOTE
