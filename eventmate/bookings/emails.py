"""What members are told about their bookings (eventmate/notifications)."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from eventmate.calendars.feeds import bookings_calendar
from eventmate.extensions import db
from eventmate.models import BOOKING_CONFIRMED, Booking, Event, OutboxMessage
from eventmate.notifications.messages import Draft, composer
from eventmate.templating import local_datetime

CONFIRMED = "booking_confirmed"
CANCELLED = "booking_cancelled"
REMINDER = "reminder"
EVENT_CHANGED = "event_changed"
EVENT_CANCELLED = "event_cancelled"


def _booking(message: OutboxMessage) -> Booking | None:
    return db.session.scalar(
        select(Booking)
        .options(joinedload(Booking.user), joinedload(Booking.event).joinedload(Event.city))
        .where(Booking.id == message.booking_id)
    )


def _context(booking: Booking, **extra) -> dict:
    return {
        "name": booking.user.display_name,
        "booking": booking,
        "event": booking.event,
        "booking_url": url_for("bookings.detail", reference=booking.reference, _external=True),
        "event_url": url_for("events.detail", slug=booking.event.slug, _external=True),
        **extra,
    }


def _calendar_file(booking: Booking) -> tuple[str, str, bytes]:
    data = bookings_calendar([booking], booking.user.display_name)
    return (f"{booking.event.slug[:60]}.ics", "text/calendar", data)


@composer(CONFIRMED)
def booking_confirmed(message: OutboxMessage) -> Draft | None:
    booking = _booking(message)
    if booking is None:
        return None
    # Sent even if the booking was cancelled since: it did happen, and the cancellation follows.
    return Draft(
        f"Booking confirmed: {booking.event.title} ({booking.reference})",
        CONFIRMED,
        _context(booking),
        attachments=[_calendar_file(booking)],
    )


@composer(CANCELLED)
def booking_cancelled(message: OutboxMessage) -> Draft | None:
    booking = _booking(message)
    if booking is None:
        return None
    # Some of the seats (details: seats cancelled, seats left), or the whole booking.
    seats, left = message.details.get("seats"), message.details.get("left", 0)
    subject = "Seats cancelled" if left else "Booking cancelled"
    return Draft(f"{subject}: {booking.event.title} ({booking.reference})",
                 CANCELLED, _context(booking, seats=seats, left=left))  # fmt: skip


@composer(REMINDER)
def reminder(message: OutboxMessage) -> Draft | None:
    """Only while it still applies: the booking confirmed, the event listed and not started,
    the member still wanting reminders."""
    from eventmate.bookings.reminders import unsubscribe_url

    booking = _booking(message)
    if booking is None or booking.status != BOOKING_CONFIRMED or not booking.user.reminders_enabled:
        return None
    if not booking.event.is_listed:
        return None
    link = unsubscribe_url(booking.user)
    return Draft(
        f"Tomorrow: {booking.event.title}",
        REMINDER,
        _context(booking, unsubscribe_url=link),
        attachments=[_calendar_file(booking)],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


@composer(EVENT_CHANGED)
def event_changed(message: OutboxMessage) -> Draft | None:
    booking = _booking(message)
    if booking is None or booking.status != BOOKING_CONFIRMED:
        return None
    details, zone = message.details or {}, booking.event.city.timezone
    old_when = old_where = None
    if "starts_at" in details:
        from datetime import datetime

        old_when = local_datetime(datetime.fromisoformat(details["starts_at"]), zone)
    if "venue" in details:
        old_where = details["venue"]
    what = " and ".join(part for part, old in (("time", old_when), ("venue", old_where)) if old)
    return Draft(
        f"Changed: {booking.event.title} has a new {what or 'schedule'}",
        EVENT_CHANGED,
        _context(booking, old_when=old_when, old_where=old_where, what_changed=what or "details"),
        attachments=[_calendar_file(booking)],
    )


@composer(EVENT_CANCELLED)
def event_cancelled(message: OutboxMessage) -> Draft | None:
    booking = _booking(message)
    if booking is None:
        return None
    reason = (message.details or {}).get("reason", "")
    return Draft(f"Cancelled: {booking.event.title}", EVENT_CANCELLED,
                 _context(booking, reason=reason))  # fmt: skip
