"""Steps and checks the journeys share: logging in, and reading the booking confirmation a
member is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventmate.bookings.emails import CONFIRMED
from eventmate.extensions import db
from eventmate.models import Event
from tests.conftest import PASSWORD
from tests.mail import attachments_of, html_of, text_of


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Welcome back,")).to_be_visible()


def event_title_and_start(slug: str) -> tuple[str, datetime]:
    """(Run it with site.run.) The event's title and its start, in UTC."""
    title, starts_at = db.session.execute(
        select(Event.title, Event.starts_at).where(Event.slug == slug)
    ).one()
    return title, starts_at.astimezone(UTC)


def assert_booking_confirmation(site, address: str, reference: str, slug: str) -> None:
    """The one confirmation email for booking `reference`: its reference in the subject, the
    text and the HTML part, and an .ics whose one VEVENT is the event, at the event's start."""
    title, starts_at = site.run(lambda: event_title_and_start(slug))
    emails = [e for e in site.emails_to(address, CONFIRMED) if reference in e["Subject"]]
    assert len(emails) == 1, [e["Subject"] for e in site.emails_to(address, CONFIRMED)]
    [email] = emails
    assert email["Subject"] == f"Booking confirmed: {title} ({reference})"
    assert reference in text_of(email)
    assert f"You're booked for {title}" in text_of(email)
    assert reference in html_of(email)
    assert title in html_of(email)

    [(filename, (content_type, data))] = attachments_of(email).items()
    assert filename.endswith(".ics")
    assert content_type == "text/calendar"
    calendar = Calendar.from_ical(data)
    [vevent] = calendar.walk("VEVENT")
    assert title in str(vevent["SUMMARY"])
    dtstart = vevent.decoded("DTSTART")
    assert dtstart.tzinfo is not None, "a floating DTSTART: no zone to place it in"
    # iCalendar times have whole seconds; the database keeps microseconds.
    assert dtstart.astimezone(UTC) == starts_at.replace(microsecond=0)
