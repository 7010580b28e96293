"""Steps and checks the journeys share: a site with a member, a host and an event to visit as
each, logging in, and reading the booking confirmation a member is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventmate.auth.services import hash_password
from eventmate.bookings.emails import CONFIRMED
from eventmate.extensions import db
from eventmate.models import Event
from tests.conftest import PASSWORD
from tests.factories import make_booking, make_city, make_event, make_user
from tests.mail import attachments_of, html_of, text_of

LONG_NAME = "Maximiliana Wolkenstein-Rosenberger"  # a name that pushes a header wide
MEMBER_EMAIL, HOST_EMAIL = "member@example.com", "host@example.com"

# The main pages of each role on the site seed_people_and_an_event() makes.
PUBLIC = ["/", "/events/", "/events/?q=lanterns", "/cities/rotterdam/", "/categories/music/",
          "/events/harbour-lights/", "/login/", "/register/", "/password/forgot/",
          "/no-such-page/"]  # fmt: skip
MEMBER = [*PUBLIC[:6], "/me/bookings/", "/bookings/LAYO-UT22/", "/bookings/LAYO-UT22/cancel/",
          "/account/", "/account/delete/"]  # fmt: skip
HOST = [*PUBLIC[:6], "/host/", "/host/events/new/", "/host/events/harbour-lights/edit/",
        "/host/events/harbour-lights/attendees/", "/host/events/harbour-lights/images/",
        "/host/events/harbour-lights/deactivate/",
        "/host/events/lantern-making/preview/"]  # fmt: skip


def seed_people_and_an_event() -> Event:
    """(In a module's seed_site.) Rotterdam's "harbour-lights", hosted by HOST_EMAIL, where
    MEMBER_EMAIL has booking LAYO-UT22 for 2 seats, and the host's draft "lantern-making"; both
    log in with PASSWORD."""
    city = make_city(name="Rotterdam", slug="rotterdam", country="Netherlands",
                     timezone="Europe/Amsterdam")  # fmt: skip
    host = make_user(email=HOST_EMAIL, display_name=LONG_NAME, is_host=True,
                     password_hash=hash_password(PASSWORD))  # fmt: skip
    member = make_user(email=MEMBER_EMAIL, display_name=LONG_NAME,
                       password_hash=hash_password(PASSWORD))  # fmt: skip
    event = make_event(slug="harbour-lights", title="Harbour Lights Festival of Lanterns",
                       city=city, host=host, capacity=40)  # fmt: skip
    make_booking(event, quantity=2, user=member, reference="LAYO-UT22")
    make_event(slug="lantern-making", title="Lantern Making for Beginners and Their Families",
               city=city, host=host, published_at=None)  # a draft: its preview  # fmt: skip
    make_booking(event, quantity=1, user=make_user(display_name=LONG_NAME,
                 email="a-very-long-address-for-a-table@example.com"))  # fmt: skip
    return event


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
