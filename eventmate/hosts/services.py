"""Creating and changing listings. Each write owns its commit."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable

from slugify import slugify
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from eventmate.extensions import db
from eventmate.hosts.forms import EventForm
from eventmate.models import BOOKING_CONFIRMED, Booking, Event, User
from eventmate.pagecache import invalidate_event, invalidate_listings

SLUG_SUFFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


class CapacityBelowBookings(ValueError):
    pass


def new_slug(title: str) -> str:
    """Readable and stable: the title's words now, plus a random suffix; never changes later."""
    suffix = "".join(secrets.choice(SLUG_SUFFIX_ALPHABET) for _ in range(6))
    base = slugify(title, max_length=100, word_boundary=True) or "event"
    return f"{base}-{suffix}"


def create_event(host: User, form: EventForm) -> Event:
    event = Event(slug=new_slug(form.title.data), host_id=host.id, seats_booked=0)
    _apply(event, form)
    db.session.add(event)
    db.session.commit()
    invalidate_listings()
    return event


def update_event(event: Event, form: EventForm) -> Event:
    """Save the form; the capacity may never drop below the seats already booked."""
    if form.capacity.data < event.seats_booked:
        raise CapacityBelowBookings(event.seats_booked)
    _apply(event, form)
    try:
        db.session.commit()
    except IntegrityError:
        # A booking landed between the check and the commit; the database refused.
        db.session.rollback()
        booked = db.session.get(Event, event.id, populate_existing=True).seats_booked
        raise CapacityBelowBookings(booked) from None
    event_changed(event)
    return event


def set_active(event: Event, active: bool) -> None:
    event.is_active = active
    db.session.commit()
    event_changed(event)


def event_changed(event: Event) -> None:
    """The event's page and any listing showing it are out of date."""
    invalidate_event(event.slug)
    invalidate_listings()


def _apply(event: Event, form: EventForm) -> None:
    event.title = form.title.data.strip()
    event.description = form.description.data.strip()
    event.category = form.category.data
    event.city_id = form.city_id.data
    event.venue_name = form.venue_name.data.strip()
    event.venue_address = (form.venue_address.data or "").strip()
    event.starts_at = form.utc(form.starts_at)
    event.ends_at = form.utc(form.ends_at)
    event.capacity = form.capacity.data
    event.max_per_booking = form.max_per_booking.data
    event.price = form.price.data
    event.currency = form.currency.data


def attendees(event_id: int) -> list[Booking]:
    """Confirmed bookings with their members, in booking order (1 query)."""
    query = (
        select(Booking)
        .join(Booking.user)
        .options(contains_eager(Booking.user))
        .where(Booking.event_id == event_id, Booking.status == BOOKING_CONFIRMED)
        .order_by(Booking.created_at, Booking.id)
    )
    return list(db.session.scalars(query))


ATTENDEE_COLUMNS = ["reference", "name", "email", "seats", "booked_at_utc"]


def attendees_csv(bookings: Iterable[Booking], stream: io.TextIOBase | None = None) -> str:
    """CSV of attendees. Cells that a spreadsheet would run as a formula are neutralised."""
    stream = stream or io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(ATTENDEE_COLUMNS)
    for booking in bookings:
        writer.writerow([
            booking.reference,
            _safe_cell(booking.user.display_name),
            _safe_cell(booking.user.email),
            booking.quantity,
            booking.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        ])  # fmt: skip
    return stream.getvalue() if isinstance(stream, io.StringIO) else ""


def _safe_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
