"""Telling an event's attendees about a change to it, and cancelling their bookings when the
event is called off. Both add to the caller's transaction; the caller commits, then
dispatches the returned outbox ids."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import insert, select, update

from eventmate.extensions import db
from eventmate.models import BOOKING_CANCELLED, BOOKING_CONFIRMED, Booking, OutboxMessage, User
from eventmate.models.outbox import PENDING


def tell_attendees(event_id: int, kind: str, key: str, details: dict, now: datetime) -> list[int]:
    """One message per confirmed booking of the event (`key` makes the send keys unique:
    kind and change), written in one multi-row INSERT however many attendees there are."""
    attendees = db.session.execute(
        select(Booking.id, Booking.user_id, User.email)
        .join(Booking.user)
        .where(Booking.event_id == event_id, Booking.status == BOOKING_CONFIRMED)
        .order_by(Booking.id)
    ).all()
    return _queue_many(kind, key, attendees, event_id, details, now)


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
    return _queue_many("event_cancelled", "event-cancelled", rows, event_id,
                       {"reason": reason}, now)  # fmt: skip


def _queue_many(kind, key, attendees, event_id, details, now) -> list[int]:
    if not attendees:
        return []
    retry = timedelta(seconds=current_app.config["OUTBOX_RETRY_SECONDS"])
    values = [
        {"kind": kind, "send_key": f"{key}:{booking_id}", "to_address": email,
         "user_id": user_id, "booking_id": booking_id, "event_id": event_id,
         "details": details, "status": PENDING, "attempts": 0, "created_at": now,
         "next_attempt_at": now + retry, "last_error": ""}
        for booking_id, user_id, email in attendees
    ]  # fmt: skip
    return list(db.session.scalars(insert(OutboxMessage).returning(OutboxMessage.id), values))
