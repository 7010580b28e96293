"""Build .ics documents with the icalendar library.

Times are written in the event city's zone (TZID) with the matching VTIMEZONE, so calendars
show the local wall-clock time wherever the reader is. The one exception is a time in the
second pass of a repeated hour (clocks going back): RFC 5545 reads an ambiguous local time as
its first occurrence, so such a time is written in UTC instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import gettext, ngettext
from icalendar import Calendar, Timezone
from icalendar import Event as CalendarEvent
from itsdangerous import BadSignature, URLSafeSerializer

from eventmate.models import BOOKING_CANCELLED, Booking, Event, User
from eventmate.templating import format_price

PRODUCT_ID = "-//EventMate//eventmate//EN"
FEED_SALT = "bookings-calendar-feed"


def event_calendar(event: Event) -> bytes:
    calendar = _calendar(event.title)
    calendar.add_component(_vevent(event, uid=f"event-{event.id}@eventmate"))
    return _finish(calendar)


def bookings_calendar(bookings: Iterable[Booking], owner_name: str) -> bytes:
    calendar = _calendar(f"{owner_name}'s EventMate bookings")
    for booking in bookings:
        vevent = _vevent(booking.event, uid=f"booking-{booking.id}@eventmate")
        seats = ngettext("%(num)d seat", "%(num)d seats", booking.quantity)
        vevent.pop("summary")
        vevent.add("summary", f"{booking.event.title} ({seats})")
        if booking.event.price:
            vevent.pop("description")
            vevent.add("description", _description(booking.event, booking.quantity))
        if booking.status == BOOKING_CANCELLED:
            vevent["status"] = "CANCELLED"
        calendar.add_component(vevent)
    return _finish(calendar)


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    return calendar


def _vevent(event: Event, uid: str) -> CalendarEvent:
    zone = event.city.zone
    url = url_for("events.detail", slug=event.slug, _external=True)
    vevent = CalendarEvent()
    vevent.add("uid", uid)
    vevent.add("dtstamp", datetime.now(UTC))
    vevent.add("dtstart", _calendar_time(event.starts_at, zone))
    vevent.add("dtend", _calendar_time(event.ends_at, zone))
    vevent.add("summary", event.title)
    vevent.add("description", _description(event))
    vevent.add("location", ", ".join(filter(None, [
        event.venue_name, event.venue_address, event.city.name, event.city.country,
    ])))  # fmt: skip
    vevent.add("url", url)
    vevent.add("status", "CONFIRMED")
    vevent.add("last-modified", event.updated_at)
    return vevent


def _description(event: Event, seats: int | None = None) -> str:
    """The event's text and page; for a paid event, its price (or the booking's total) and
    how it is paid (PAYMENT_NOTE)."""
    url = url_for("events.detail", slug=event.slug, _external=True)
    price = ""
    if event.price:
        amount = format_price(event.price * (seats or 1), event.currency)
        if seats:
            what = ngettext(
                "Total %(amount)s for %(num)d seat", "Total %(amount)s for %(num)d seats",
                seats, amount=amount,
            )  # fmt: skip
        else:
            what = gettext("%(amount)s a seat", amount=amount)
        price = f"{what}. {current_app.config['PAYMENT_NOTE']}\n\n"
    return f"{price}{event.description}\n\n{url}"


def _calendar_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """The local time, unless a reader would take it for the repeated hour's first pass."""
    local = moment.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return moment.astimezone(UTC)
    return local


def _finish(calendar: Calendar) -> bytes:
    """As Calendar.add_missing_timezones(first_date, last_date) for the years the events span
    (from the first one's to the year after the last one's): each zone the events use gets its
    VTIMEZONE, ahead of the events. The library's default span, 1970 to 2038, lists every
    transition of those years: building it was a quarter of an emailed confirmation's CPU, and
    writing it out, once built, a third. Each zone's is built once per process and span."""
    years = [
        vevent.decoded(name).year
        for vevent in calendar.walk("VEVENT")
        for name in ("dtstart", "dtend")
        if name in vevent
    ]
    position = len(calendar.timezones)
    for tzid in sorted(calendar.get_missing_tzids()):
        timezone = vtimezone(tzid, min(years), max(years) + 1)
        if timezone is not None:
            calendar.subcomponents.insert(position, timezone)
            position += 1
    return calendar.to_ical()


@lru_cache(maxsize=1024)
def vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone | None:
    """The VTIMEZONE of a zone from the start of `first_year` to the end of `last_year` (None:
    a zone icalendar doesn't know), shared by every calendar that needs it: serialising one
    leaves it as it was."""
    try:
        return Timezone.from_tzid(
            tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
        )
    except ValueError:
        return None


def feed_key(user: User, secret_key: str) -> str:
    """A signed, unguessable key that lets a calendar app fetch one member's feed. It names the
    member's calendar generation, so resetting it revokes every key given out before."""
    return URLSafeSerializer(secret_key, salt=FEED_SALT).dumps([user.id, user.calendar_generation])


def feed_owner_id(key: str, secret_key: str, generation_of: Callable[[int], int | None]):
    """The member a feed key belongs to, if it is still their current one; else None.
    `generation_of(user_id)`: the member's current generation (None: no such active member)."""
    try:
        value = URLSafeSerializer(secret_key, salt=FEED_SALT).loads(key)
    except BadSignature:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, 0]  # a key made before links could be reset: generation 0
    if not (isinstance(value, list) and len(value) == 2):
        return None
    user_id, generation = value
    if not all(isinstance(part, int) and not isinstance(part, bool) for part in value):
        return None
    return user_id if generation_of(user_id) == generation else None
