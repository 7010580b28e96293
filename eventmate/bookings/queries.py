"""Read queries for a member's bookings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from eventmate.extensions import db
from eventmate.models import Booking, Event


def event_to_book(slug: str) -> Event | None:
    """The active event, without what only its page shows (images, host): 1 query."""
    return db.session.scalar(select(Event).where(Event.slug == slug, Event.is_active.is_(True)))


def booking_for_user(reference: str, user_id: int) -> Booking | None:
    """The user's own booking with this reference; another user's is None (a 404)."""
    query = (
        select(Booking)
        .join(Booking.event)
        .join(Event.city)
        .options(contains_eager(Booking.event).contains_eager(Event.city))
        .where(Booking.reference == reference, Booking.user_id == user_id)
    )
    return db.session.scalar(query)


def bookings_for_user(user_id: int, now: datetime) -> tuple[list[Booking], list[Booking]]:
    """(upcoming soonest first, past most recent first): budget 1 query."""
    query = (
        select(Booking)
        .join(Booking.event)
        .join(Event.city)
        .options(contains_eager(Booking.event).contains_eager(Event.city))
        .where(Booking.user_id == user_id)
        .order_by(Event.starts_at, Booking.id)
    )
    bookings = list(db.session.scalars(query))
    upcoming = [b for b in bookings if b.event.starts_at > now]
    past = [b for b in reversed(bookings) if b.event.starts_at <= now]
    return upcoming, past
