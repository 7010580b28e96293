"""Telling an event's attendees about a change to it, and cancelling their bookings when the
event is called off. Both add to the caller's transaction; the caller commits, then
dispatches the returned outbox ids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from eventmate.extensions import db
from eventmate.models import BOOKING_CANCELLED, BOOKING_CONFIRMED, Booking, User
from eventmate.notifications import outbox


def tell_attendees(event_id: int, kind: str, key: str, details: dict, now: datetime) -> list[int]:
    """One message per confirmed booking of the event (`key` makes the send keys unique:
    kind and change), written in one multi-row INSERT however many attendees there are."""
    attendees = db.session.execute(
        select(Booking.id, Booking.user_id, User.email)
        .join(Booking.user)
        .where(Booking.event_id == event_id, Booking.status == BOOKING_CONFIRMED)
        .order_by(Booking.id)
    ).all()
    return _queue_for_attendees(kind, key, attendees, event_id, details, now)


def cancel_attendees(event_id: int, reason: str, now: datetime) -> list[int]:
    """Cancel every confirmed booking of the event and queue word of it to each member."""
    attendees = db.session.execute(
        update(Booking)
        .where(Booking.event_id == event_id, Booking.status == BOOKING_CONFIRMED)
        .values(status=BOOKING_CANCELLED, cancelled_at=now)
        .returning(Booking.id, Booking.user_id)
        .execution_options(synchronize_session=False)
    ).all()
    emails = dict(db.session.execute(
        select(User.id, User.email).where(User.id.in_({row.user_id for row in attendees}))
    ).all())  # fmt: skip
    rows = [(row.id, row.user_id, emails[row.user_id]) for row in attendees]
    return _queue_for_attendees("event_cancelled", "event-cancelled", rows, event_id,
                                {"reason": reason}, now)  # fmt: skip


def _queue_for_attendees(kind, key, attendees, event_id, details, now) -> list[int]:
    """One message per (booking id, user id, email) of `attendees`."""
    messages = [
        {"send_key": f"{key}:{booking_id}", "to_address": email, "user_id": user_id,
         "booking_id": booking_id, "event_id": event_id, "details": details}
        for booking_id, user_id, email in attendees
    ]  # fmt: skip
    return outbox.queue_many(kind, messages, now)
