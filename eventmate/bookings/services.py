"""Booking and cancelling seats. Each function is one transaction and owns its commit.

Overselling is impossible by construction: seats are taken with one conditional UPDATE
(`seats_booked + seats_held + q <= capacity`: seats held for the waitlist are not for sale),
which PostgreSQL serialises on the event row, and the booking row is inserted in the same
transaction. Availability is always read from the database.

Lock order: every transaction that changes an event's seats or its waitlist takes the event's
row lock first (that UPDATE, or `lock_event`), and only then touches bookings or waitlist
entries, so those for one event run one after another and never deadlock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from eventmate.bookings import emails
from eventmate.bookings.queries import member_seats
from eventmate.caching import invalidate_event
from eventmate.extensions import db
from eventmate.models import BOOKING_CANCELLED, BOOKING_CONFIRMED, Booking, Event, User
from eventmate.monitoring.metrics import BOOKINGS_CREATED, SEATS_BOOKED
from eventmate.notifications import outbox

# No 0/O, 1/I/L: references are read aloud and typed from paper.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 8


class BookingRefused(Exception):
    """Why seats cannot be booked or a booking cannot be cancelled, with the HTTP status."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class BookingResult:
    booking: Booking  # expired by the commit: reading it again costs a query
    created: bool  # False when a repeated form submission found the first booking
    reference: str


def new_reference() -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def new_request_token() -> str:
    return secrets.token_urlsafe(24)


def parse_quantity(raw: str | None, event: Event) -> int:
    """The number of seats asked for, within the event's per-booking limit, or BookingRefused."""
    raw = (raw or "").strip()
    # Digits counted before int(), which refuses more than 4,300 of them (a 500).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 5 or not 1 <= int(raw) <= 10_000:
        raise BookingRefused("Choose a whole number of seats, at least one.", 400)
    quantity = int(raw)
    if quantity > event.max_per_booking:
        raise BookingRefused(
            f"You can book at most {event.max_per_booking} seats at a time for this event.", 400
        )
    return quantity


def lock_event(event_id: int) -> Event | None:
    """The event read afresh, its row locked until the transaction ends (None if it's gone).

    A no-op UPDATE rather than SELECT … FOR UPDATE: on PostgreSQL it takes the same row lock
    as book_seats' UPDATE; on SQLite, which ignores FOR UPDATE (and where pysqlite starts a
    transaction only at the first write), it takes the database's write lock, so the reads
    that follow can't go stale there either. updated_at is kept: nothing changed yet.
    """
    return db.session.scalar(
        update(Event)
        .where(Event.id == event_id)
        .values(seats_held=Event.seats_held, updated_at=Event.updated_at)
        .returning(Event),
        execution_options={"populate_existing": True},
    )


def book_seats(user: User, event: Event, quantity: int, request_token: str) -> BookingResult:
    """Take `quantity` of the seats neither booked nor held for the waitlist, for `user`, or
    raise BookingRefused. Commits."""
    existing = _booking_for_token(user, request_token)
    if existing is not None:
        return BookingResult(existing, False, existing.reference)

    slug, user_id = event.slug, user.id  # the commit expires both: no queries to read them back
    now = datetime.now(UTC)
    limit = db.session.execute(
        update(Event)
        .where(
            Event.id == event.id,
            Event.is_listed,
            Event.starts_at > now,
            Event.seats_booked + Event.seats_held + quantity <= Event.capacity,
        )
        .values(seats_booked=Event.seats_booked + quantity)
        .returning(Event.max_per_booking)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if limit is None:
        db.session.rollback()
        raise _why_not_bookable(event.id, quantity, now)
    # The event's row is locked by the update until the commit: this member's other bookings
    # of it, read now, include any that raced this one.
    already = member_seats(user.id, event.id).seats
    if already + quantity > limit:
        db.session.rollback()
        raise _too_many_for_one_member(already, limit)

    try:
        # (A repeat of the same form fails at the booking's insert.)
        booking, confirmation = add_confirmed_booking(user, event.id, quantity, request_token)
        reference = booking.reference  # read before the commit expires it
        db.session.commit()
    except IntegrityError:
        # The same form was submitted twice at once: the other request booked it.
        db.session.rollback()
        existing = _booking_for_token(user, request_token)
        if existing is None:
            raise
        return BookingResult(existing, False, existing.reference)
    booked(slug, user_id, quantity, [confirmation])
    return BookingResult(booking, True, reference)


def add_confirmed_booking(
    user: User, event_id: int, quantity: int, request_token: str
) -> tuple[Booking, int]:
    """Add a confirmed booking and its confirmation email to the transaction, whose seats the
    caller has already taken; returns it and the message's id (for `booked`)."""
    booking = Booking(
        user_id=user.id,
        event_id=event_id,
        quantity=quantity,
        status=BOOKING_CONFIRMED,
        reference=new_reference(),
        request_token=request_token,
    )
    db.session.add(booking)
    db.session.flush()  # the booking's id, for its confirmation
    confirmation = outbox.queue(
        emails.CONFIRMED, f"booking-confirmed:{booking.id}", user.email,
        user_id=user.id, booking_id=booking.id, event_id=event_id,
    )  # fmt: skip
    return booking, confirmation


def booked(slug: str, user_id: int, quantity: int, messages: list[int]) -> None:
    """After the commit of a booking: the event's page (seats left) and the member's cached
    booked events, its emails, the metrics."""
    invalidate_event(slug, members=[user_id])
    outbox.dispatch(messages)
    BOOKINGS_CREATED.inc()
    SEATS_BOOKED.inc(quantity)


def cancel_booking(booking: Booking, seats: int | None = None, seen: int | None = None) -> None:
    """Cancel `seats` of a confirmed booking (all of them if None) before its event starts and
    give them back: to the event's waitlist first (held for the members they fit,
    eventmate/waitlist), in the same transaction, so nobody else can take them in between.
    The booking must still have the quantity the member saw (`seen`, by default its own): a
    form submitted twice, or after another change, is refused rather than applied again.
    Commits."""
    # Imported here: the waitlist's services import this module.
    from eventmate.waitlist.offers import offer_free_seats

    now = datetime.now(UTC)
    seen = booking.quantity if seen is None else seen
    seats = seen if seats is None else seats
    if not 1 <= seats <= seen:
        raise BookingRefused(f"Choose between 1 and {seen} seats to cancel.", 400)
    slug = booking.event.slug  # read before the commit expires it
    event = lock_event(booking.event_id)
    if event.starts_at <= now:
        db.session.rollback()
        raise BookingRefused("This event has started, so the booking can no longer be cancelled.")
    if not release_seats(booking.id, event, seats, seen, now):
        db.session.rollback()
        raise BookingRefused(
            "This booking is already cancelled."
            if db.session.scalar(select(Booking.status).where(Booking.id == booking.id))
            != BOOKING_CONFIRMED
            else "This booking changed meanwhile: check it and try again."
        )
    left = seen - seats
    # One message per change: a booking is reduced to each quantity at most once.
    key = f"booking-reduced:{booking.id}:{left}" if left else f"booking-cancelled:{booking.id}"
    notice = outbox.queue(
        emails.CANCELLED, key, booking.user.email, user_id=booking.user_id,
        booking_id=booking.id, event_id=booking.event_id,
        details={"seats": seats, "left": left},
    )  # fmt: skip
    offers = offer_free_seats(event, now)
    db.session.commit()
    invalidate_event(slug)
    outbox.dispatch([notice, *offers])


def release_seats(booking_id: int, event: Event, seats: int, seen: int, now: datetime) -> bool:
    """In the caller's transaction, with the booking's event locked (`lock_event`, passed as
    `event`): cancel `seats` of the booking if it is still confirmed with `seen` seats, and take
    them off the event's ledger. False if it changed meanwhile. The caller tells the member,
    offers the seats to the waitlist (eventmate/waitlist/offers.py) and commits."""
    left = seen - seats
    changes = {"quantity": left} if left else {"status": BOOKING_CANCELLED, "cancelled_at": now}
    changed = db.session.execute(
        update(Booking)
        .where(
            Booking.id == booking_id,
            Booking.status == BOOKING_CONFIRMED,
            Booking.quantity == seen,
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        return False
    event.seats_booked -= seats  # the row is locked: nobody else changes it now
    return True


def _booking_for_token(user: User, request_token: str) -> Booking | None:
    return db.session.scalar(
        select(Booking).where(Booking.request_token == request_token, Booking.user_id == user.id)
    )


def _too_many_for_one_member(already: int, limit: int) -> BookingRefused:
    more = limit - already
    if more <= 0:
        return BookingRefused(
            f"You already have {already} seats for this event, the most one member can book."
        )
    seats = "seat" if more == 1 else "seats"
    return BookingRefused(
        f"You already have {already} seat{'s' if already != 1 else ''} for this event: you can "
        f"book {more} more {seats} at most ({limit} per member)."
    )


def _why_not_bookable(event_id: int, quantity: int, now: datetime) -> BookingRefused:
    event = db.session.get(Event, event_id, populate_existing=True)
    if event is None or not event.is_listed:
        return BookingRefused("This event is no longer available.", 404)
    if event.starts_at <= now:
        return BookingRefused("This event has already started, so it can no longer be booked.")
    if event.seats_left == 0:
        return BookingRefused("Sorry, this event is sold out.")
    seats = "seat is" if event.seats_left == 1 else "seats are"
    return BookingRefused(
        f"Only {event.seats_left} {seats} left, so {quantity} can't be booked. "
        "Choose fewer seats and try again."
    )
