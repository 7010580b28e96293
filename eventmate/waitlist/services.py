"""Joining and leaving an event's waitlist; claiming, declining and expiring the seats held for
a member. Each function is one transaction and owns its commit.

Every one of them first locks the event's row (bookings.services.lock_event), like every other
transaction that changes the event's seats, then reads the line afresh: for one event, joins,
offers, claims, bookings and cancellations happen one at a time. The ledger they keep:
seats_booked = the confirmed bookings' seats, seats_held = the offered entries' seats, and
seats_booked + seats_held <= capacity (a check constraint).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from eventmate.bookings.services import (
    BookingRefused,
    add_confirmed_booking,
    booked,
    lock_event,
    new_request_token,
)
from eventmate.caching import invalidate_event
from eventmate.extensions import db
from eventmate.models import Event, User, WaitlistEntry
from eventmate.models.waitlist import (
    CLAIMED,
    CLOSED,
    DECLINED,
    EXPIRED,
    IN_LINE,
    LEFT,
    OFFERED,
    WAITING,
)
from eventmate.notifications import outbox
from eventmate.templating import local_datetime
from eventmate.waitlist.offers import end_offers, offer_free_seats
from eventmate.waitlist.queries import booking_reference, position_in_line


class WaitlistRefused(BookingRefused):
    """Why the member can't join, leave, claim or decline, with the HTTP status."""


def join(user: User, event: Event, quantity: int, now: datetime) -> int:
    """Put the member in the event's line for `quantity` seats (already checked against the
    event's per-booking limit), when fewer than that are left; returns their place. Commits."""
    event = _bookable(lock_event(event.id), now)
    if quantity <= event.seats_left:
        db.session.rollback()
        seats = "seat is" if event.seats_left == 1 else "seats are"
        raise WaitlistRefused(
            f"{event.seats_left} {seats} still left, so you can book them now: no need to wait."
        )
    if _entry_in_line(user.id, event.id) is not None:
        db.session.rollback()
        raise WaitlistRefused("You're already on the waitlist for this event.")
    entry = WaitlistEntry(event_id=event.id, user_id=user.id, quantity=quantity, status=WAITING)
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:  # a second join at once, from another tab (the unique index)
        db.session.rollback()
        raise WaitlistRefused("You're already on the waitlist for this event.") from None
    position = position_in_line(entry.id)
    db.session.commit()
    return position


def leave(user: User, event: Event, now: datetime) -> None:
    """Take the member out of the line; seats held for them go to the next in line. Commits."""
    locked = lock_event(event.id)
    entry = _entry_in_line(user.id, event.id)
    if entry is None:
        db.session.rollback()
        raise WaitlistRefused("You're not on the waitlist for this event.", 404)
    _end_and_pass_on(locked, entry, LEFT if entry.status == WAITING else DECLINED, now)


def decline(user: User, event: Event, now: datetime) -> None:
    """Turn down the seats held for the member: they go to the next in line. Commits."""
    locked = lock_event(event.id)
    entry = _entry_in_line(user.id, event.id)
    if entry is None or entry.status != OFFERED:
        db.session.rollback()
        raise WaitlistRefused("There are no seats held for you at this event.", 404)
    _end_and_pass_on(locked, entry, DECLINED, now)


def claim(user: User, event: Event, now: datetime) -> str:
    """Book the seats held for the member: the entry is claimed, the held seats become booked
    seats of a confirmed booking (with its confirmation email). Returns the booking's
    reference; a second claim of the same offer returns the first's. Commits."""
    locked = lock_event(event.id)
    entry = latest_entry(user.id, event.id)
    if entry is not None and entry.status == CLAIMED and entry.booking_id is not None:
        reference = booking_reference(entry.booking_id)
        db.session.rollback()
        return reference
    refusal = offer_refusal(entry, locked, now)
    if refusal is not None:
        if entry is not None and entry.status == OFFERED:
            # Run out (or the event started) and the sweep hasn't seen it yet: do its work now.
            _end_and_pass_on(locked, entry, EXPIRED if locked.is_listed else CLOSED, now)
        else:
            db.session.rollback()
        raise refusal
    slug, quantity, user_id = locked.slug, entry.quantity, user.id
    locked.seats_held -= quantity
    locked.seats_booked += quantity
    booking, confirmation = add_confirmed_booking(user, locked.id, quantity, new_request_token())
    entry.status, entry.booking_id = CLAIMED, booking.id
    reference = booking.reference
    db.session.commit()
    booked(slug, user_id, quantity, [confirmation])
    return reference


def offer_refusal(entry: WaitlistEntry | None, event: Event, now: datetime):
    """Why the member's latest entry can't be claimed now, as a WaitlistRefused, or None."""
    if entry is None or entry.status in (WAITING, LEFT):
        return WaitlistRefused("There are no seats held for you at this event.", 404)
    if entry.status == CLAIMED:
        return WaitlistRefused("You've already claimed these seats: see My bookings.")
    if entry.status == DECLINED:
        return WaitlistRefused("You declined these seats, so they went to the next in line.")
    if entry.status == CLOSED or not event.is_listed or event.starts_at <= now:
        return WaitlistRefused("This event's waitlist is closed: it has started or is no longer "
                               "on sale.")  # fmt: skip
    if entry.status == EXPIRED or entry.hold_expires_at <= now:
        until = local_datetime(entry.hold_expires_at, event.city.timezone)
        return WaitlistRefused(
            f"Sorry, the seats were held for you until {until}, so they went to the next in "
            "line. You can join the waitlist again."
        )
    return None


def expire_holds(now: datetime, limit: int = 1000) -> int:
    """Beat's job, every minute: offers whose hold ran out expire and their seats go to the
    next in line; the lines of events that started or are no longer listed close, their
    holds released; and a line with a waiting member who fits in seats now free (an event
    listed again) gets its offers. Each event in a transaction of its own. Returns how many
    offers were sent."""
    free = Event.capacity - Event.seats_booked - Event.seats_held
    event_ids = db.session.scalars(
        select(WaitlistEntry.event_id)
        .join(WaitlistEntry.event)
        .where(
            or_(
                (WaitlistEntry.status == OFFERED) & (WaitlistEntry.hold_expires_at <= now),
                WaitlistEntry.status.in_(IN_LINE) & ((Event.starts_at <= now) | ~Event.is_listed),
                (WaitlistEntry.status == WAITING) & (WaitlistEntry.quantity <= free),
            )
        )
        .distinct()
        .order_by(WaitlistEntry.event_id)
        .limit(limit)
    ).all()
    db.session.rollback()  # (ends the read: each event's transaction starts with its lock)
    return sum(_sweep_event(event_id, now) for event_id in event_ids)


def _sweep_event(event_id: int, now: datetime) -> int:
    event = lock_event(event_id)
    if event is None:
        db.session.rollback()
        return 0
    in_line = db.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.event_id == event_id, WaitlistEntry.status.in_(IN_LINE)
        )
    ).all()
    if not event.is_listed or event.starts_at <= now:
        released, offers = end_offers(event, in_line, CLOSED), []
    else:
        expired = [e for e in in_line if e.status == OFFERED and e.hold_expires_at <= now]
        released = end_offers(event, expired, EXPIRED)
        offers = offer_free_seats(event, now)
    slug = event.slug
    db.session.commit()
    if released or offers:
        invalidate_event(slug)  # seats left
    outbox.dispatch(offers)
    return len(offers)


def latest_entry(user_id: int, event_id: int) -> WaitlistEntry | None:
    """The member's most recent entry in the event's line, whatever its status."""
    return db.session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.user_id == user_id, WaitlistEntry.event_id == event_id)
        .order_by(WaitlistEntry.id.desc())
        .limit(1)
    )


def _entry_in_line(user_id: int, event_id: int) -> WaitlistEntry | None:
    return db.session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.user_id == user_id,
            WaitlistEntry.event_id == event_id,
            WaitlistEntry.status.in_(IN_LINE),
        )
    )


def _end_and_pass_on(event: Event, entry: WaitlistEntry, status: str, now: datetime) -> None:
    """End the entry; seats it held go to the next in line. Commits."""
    released = end_offers(event, [entry], status)
    offers = offer_free_seats(event, now) if released else []
    slug = event.slug
    db.session.commit()
    if released:
        invalidate_event(slug)  # seats left
    outbox.dispatch(offers)


def _bookable(event: Event | None, now: datetime) -> Event:
    if event is None or not event.is_listed:
        db.session.rollback()
        raise WaitlistRefused("This event is no longer available.", 404)
    if event.starts_at <= now:
        db.session.rollback()
        raise WaitlistRefused("This event has already started.")
    return event
