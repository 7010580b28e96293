"""Read queries for a member's bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from eventmate.extensions import db
from eventmate.models import BOOKING_CONFIRMED, Booking, Event, Review
from eventmate.pagination import page_count


def event_to_book(slug: str) -> Event | None:
    """The listed event, without what only its page shows (images, host): 1 query."""
    return db.session.scalar(select(Event).where(Event.slug == slug, Event.is_listed))


@dataclass(frozen=True)
class MemberSeats:
    """A member's confirmed seats for one event, over all their bookings of it."""

    seats: int = 0
    reference: str | None = None  # their latest booking's, to link to
    bookings: int = 0


def member_seats(user_id: int, event_id: int) -> MemberSeats:
    """1 query (the member's bookings are indexed)."""
    rows = db.session.execute(
        select(Booking.quantity, Booking.reference)
        .where(
            Booking.user_id == user_id,
            Booking.event_id == event_id,
            Booking.status == BOOKING_CONFIRMED,
        )
        .order_by(Booking.id.desc())
    ).all()
    if not rows:
        return MemberSeats()
    return MemberSeats(sum(row.quantity for row in rows), rows[0].reference, len(rows))


def booking_for_user(reference: str, user_id: int) -> Booking | None:
    """The user's own booking with this reference; another user's is None (a 404)."""
    return db.session.scalar(_with_events(user_id).where(Booking.reference == reference))


def latest_booking_for_event(slug: str, user_id: int) -> Booking | None:
    """The member's latest booking of the event with this slug, listed or not: 1 query."""
    return db.session.scalar(
        _with_events(user_id).where(Event.slug == slug).order_by(Booking.id.desc()).limit(1)
    )


def all_bookings_for_user(user_id: int) -> list[Booking]:
    """Every booking of the member, by start (the calendar feed): budget 1 query."""
    query = _with_events(user_id).order_by(Event.starts_at, Booking.id)
    return list(db.session.scalars(query))


def _with_events(user_id: int):
    """The member's bookings, each with its event and the event's city."""
    return (
        select(Booking)
        .join(Booking.event)
        .join(Event.city)
        .options(contains_eager(Booking.event).contains_eager(Event.city))
        .where(Booking.user_id == user_id)
    )


@dataclass
class BookingsPage:
    bookings: list[Booking]
    page: int
    pages: int


LISTS = ("upcoming", "cancelled", "past")


def bookings_for_user(
    user_id: int, now: datetime, pages: dict[str, int], per_page: int
) -> dict[str, BookingsPage]:
    """A page of each list on My bookings, by name (LISTS): upcoming (still booked, soonest
    first), cancelled (cancelled bookings of events still to come, soonest first: no longer
    "upcoming" for the member) and past (most recent first, cancelled ones included).

    Budget: 4 queries (the three counts in one, then each non-empty page), whatever the
    number of bookings; a member who books every week would otherwise get an ever longer page.
    Page numbers past the end show the last page; `pages` lacks a list: its page 1.
    """
    to_come = Event.starts_at > now
    booked = Booking.status == BOOKING_CONFIRMED
    conditions = {"upcoming": to_come & booked, "cancelled": to_come & ~booked, "past": ~to_come}
    counts = db.session.execute(
        select(*(func.count().filter(conditions[name]) for name in LISTS))
        .select_from(Booking)
        .join(Booking.event)
        .where(Booking.user_id == user_id)
    ).one()
    soonest = [Event.starts_at, Booking.id]
    orderings = {"upcoming": soonest, "cancelled": soonest,
                 "past": [Event.starts_at.desc(), Booking.id.desc()]}  # fmt: skip
    return {
        name: _page(user_id, conditions[name], orderings[name], total, pages.get(name, 1), per_page)
        for name, total in zip(LISTS, counts, strict=True)
    }


def _page(user_id: int, condition, ordering: list, total: int, page: int, per_page: int):
    pages = page_count(total, per_page)
    page = min(page, pages)
    if not total:
        return BookingsPage([], page, pages)
    query = (
        _with_events(user_id)
        .where(condition)
        .order_by(*ordering)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return BookingsPage(list(db.session.scalars(query)), page, pages)


def own_ratings(user_id: int, event_ids: list[int]) -> dict[int, int]:
    """The member's rating of each of these events they reviewed: 1 query (none if no ids)."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(Review.event_id, Review.rating).where(
            Review.user_id == user_id, Review.event_id.in_(event_ids)
        )
    )
    return dict(rows.all())
