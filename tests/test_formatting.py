"""Prices, dates, numbers and plurals as Babel formats them (eventmate/templating.py): each
currency with its own minor units, times in the event's zone, counts with their plural."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import has_request_context
from flask_babel import ngettext
from icalendar import Calendar

from eventmate.extensions import db
from eventmate.templating import format_price, local_datetime
from tests.conftest import page_text
from tests.factories import make_booking, make_city, make_event, make_review, now
from tests.mail import attachments_of, html_of, text_of
from tests.test_bookings import book


def tokyo_event(**fields):
    tokyo = make_city(name="Tokyo", slug="tokyo", timezone="Asia/Tokyo")
    return make_event(city=tokyo, currency="JPY", price=Decimal("1000"), **fields)


def test_yen_has_no_decimals_and_euro_two_on_the_event_page(client, db_session):
    yen = tokyo_event(title="Ramen Walk", capacity=10)
    euro = make_event(title="Wine Evening", price=Decimal("10"), currency="EUR")
    db_session.commit()

    yen_page = page_text(client.get(f"/events/{yen.slug}/"))
    euro_page = page_text(client.get(f"/events/{euro.slug}/"))

    assert "¥1,000 a seat" in yen_page
    assert "¥1,000.00" not in yen_page
    assert "€10.00 a seat" in euro_page


def test_a_booking_page_and_my_bookings_show_the_total_in_the_currencys_units(
    client, db_session, member
):
    event = tokyo_event(title="Ramen Walk")
    make_booking(event, user=member, quantity=3, reference="YENB-OOK2")
    db_session.commit()

    detail = client.get("/bookings/YENB-OOK2/")
    mine = page_text(client.get("/me/bookings/"))

    assert detail.status_code == 200
    assert "¥3,000" in page_text(detail)
    assert "¥3,000.00" not in page_text(detail)
    assert "3 seats · ¥3,000 ·" in mine


def test_the_confirmation_email_and_its_calendar_file_show_yen_without_decimals(
    client, member, outbox
):
    event = tokyo_event(title="Ramen Walk", capacity=10,
                        starts_at=datetime(2031, 3, 14, 10, 0, tzinfo=UTC))  # fmt: skip
    db.session.commit()

    assert book(client, event, "2").status_code == 303

    [email] = outbox()
    assert "¥2,000" in text_of(email)
    assert "¥2,000" in html_of(email)
    assert "¥2,000.00" not in text_of(email)
    assert "Fri 14 Mar 2031, 19:00 JST" in text_of(email)
    [(_, data)] = attachments_of(email).values()
    [vevent] = Calendar.from_ical(data).walk("VEVENT")
    assert vevent["summary"] == "Ramen Walk (2 seats)"
    assert str(vevent["description"]).startswith("Total ¥2,000 for 2 seats.")


def test_formatting_works_in_an_app_context_without_a_request(app, db_session):
    """As in a Celery worker sending email: Flask-Babel finds the locale without a request."""
    with app.app_context():
        assert not has_request_context()
        assert format_price(Decimal("1000"), "JPY") == "¥1,000"
        assert format_price(Decimal("10"), "EUR") == "€10.00"
        assert format_price(Decimal("0"), "EUR") == "Free"
        seven_thirty = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)  # 19:30 in Berlin (CET)
        assert local_datetime(seven_thirty, "Europe/Berlin") == "Sat 5 Dec 2026, 19:30 CET"
        assert local_datetime(seven_thirty, "Asia/Tokyo", "day") == "6 December 2026"
        assert ngettext("%(num)d seat", "%(num)d seats", 1) == "1 seat"
        template = app.jinja_env.from_string(
            '{{ ngettext("%(num)s event", "%(num)s events", n, num=n | numberformat) }}'
            ' · {{ price | format_price("JPY") }}'
        )
        assert template.render(n=12345, price=Decimal("250000")) == "12,345 events · ¥250,000"


def test_a_review_shows_a_plain_date_in_the_events_zone(client, db_session):
    event = make_event(title="Past Gig", starts_at=now() - timedelta(days=3))
    # 23:30 UTC on 30 November is already 1 December in Berlin, the event's zone.
    make_review(event, body="Superb.", created_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    db_session.commit()

    page = page_text(client.get(f"/events/{event.slug}/"))

    review = page.split("Superb.")[0].rsplit("<li", 1)[-1]
    assert ">1 December 2026</time>" in review
    assert "CET" not in review


def test_seat_counts_have_their_plural(client, db_session, member):
    one = make_event(title="Solo Show")
    three = make_event(title="Trio Show")
    make_booking(one, user=member, quantity=1)
    make_booking(three, user=member, quantity=3)
    open_event = make_event(title="Open Show", capacity=10, max_per_booking=2)
    db_session.commit()

    mine = page_text(client.get("/me/bookings/"))
    form = page_text(client.get(f"/events/{open_event.slug}/"))

    assert "1 seat ·" in mine
    assert "3 seats ·" in mine
    assert "1 seats" not in mine
    assert '<option value="1">1 seat — €' in form
    assert '<option value="2">2 seats — €' in form


def result_count(response) -> str:
    page = page_text(response)
    return " ".join(page.split('class="result-count"')[1].split("</p>")[0].split())


def test_the_search_count_has_its_plural(client, db_session):
    make_event(title="Lonely Lecture")
    make_event(title="Busy Lecture")
    db_session.commit()

    assert result_count(client.get("/events/?q=lonely")) == 'role="status"> 1 upcoming event'
    assert result_count(client.get("/events/?q=lecture")) == 'role="status"> 2 upcoming events'
