"""Seats for the waitlist: held for the members next in line, and given back.

The rule (README, "Waitlist"): whenever seats become free (a booking cancelled, the capacity
raised, an offer declined or run out), the line is walked in the order members joined it
(created_at, then id), and each waiting member whose quantity fits in the seats still free is
offered them: the seats are held for that member alone (events.seats_held) for
WAITLIST_HOLD_MINUTES, and an email says so. A member who wants more seats than are free keeps
their place, and someone behind who wants fewer may be offered them first.

These run inside the caller's transaction, after it locked the event's row
(bookings.services.lock_event) and before it commits, so seats freed by a change are held in
the same transaction as the change: nobody can book them in between. They return the outbox
messages to dispatch after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from eventmate.bookings.services import lock_event
from eventmate.extensions import db
from eventmate.models import Event, User, WaitlistEntry
from eventmate.models.waitlist import OFFERED, WAITING
from eventmate.notifications import outbox

OFFER = "waitlist_offer"  # the email's kind (waitlist/emails.py)


def offer_key(entry_id: int) -> str:
    """The offer email's send key, which names its entry (one offer per entry)."""
    return f"waitlist-offer:{entry_id}"


def offer_free_seats(event: Event, now: datetime) -> list[int]:
    """Hold the event's free seats for the waiting members they fit, in line order; returns
    the offer emails' ids. `event` is the locked row, with this transaction's changes."""
    if not event.is_listed or event.starts_at <= now:
        return []  # no more offers: the expiry sweep closes the line
    free = event.capacity - event.seats_booked - event.seats_held
    if free <= 0:
        return []
    candidates = db.session.execute(
        select(WaitlistEntry, User.email)
        .join(WaitlistEntry.user)
        .where(
            WaitlistEntry.event_id == event.id,
            WaitlistEntry.status == WAITING,
            WaitlistEntry.quantity <= free,
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()
    hold = timedelta(minutes=current_app.config["WAITLIST_HOLD_MINUTES"])
    messages = []
    for entry, email in candidates:
        if entry.quantity > free:
            continue  # passed over, keeping its place
        entry.status, entry.offered_at, entry.hold_expires_at = OFFERED, now, now + hold
        event.seats_held += entry.quantity
        free -= entry.quantity
        message = outbox.queue(
            OFFER, offer_key(entry.id), email, user_id=entry.user_id, event_id=event.id
        )
        messages.append(message)
        if free == 0:
            break
    return messages


def offer_added_seats(event: Event, changed: set[str]) -> list[int]:
    """For a host's edit before its commit (`changed`: the fields it changes): if the capacity
    changed, write the edit, lock the row and offer the seats it adds to the line."""
    if "capacity" not in changed:
        return []
    lock_event(event.id)  # (flushes the edit first: the lock is the edit's own)
    return offer_free_seats(event, datetime.now(UTC))


def end_offers(event: Event, entries: Iterable[WaitlistEntry], status: str) -> int:
    """End entries in line (declined, expired, left, closed) and give back the seats held for
    those that had an offer; returns how many seats. `event` is the locked row."""
    released = 0
    for entry in entries:
        if entry.status == OFFERED:
            released += entry.quantity
        entry.status = status
    event.seats_held -= released
    return released
