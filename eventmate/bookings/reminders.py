"""The reminder the day before a booked event, and turning reminders off from it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import String, cast, literal, select

from eventmate.bookings import emails
from eventmate.extensions import db
from eventmate.models import BOOKING_CONFIRMED, Booking, Event, OutboxMessage, User
from eventmate.notifications import outbox

UNSUBSCRIBE_SALT = "reminders-off"


def queue_reminders(now: datetime, limit: int = 5000) -> list[int]:
    """Queue a reminder for each confirmed booking of a listed event starting within the next
    REMINDER_HOURS_BEFORE hours, once per booking (its send key), for members who want them.
    Bookings made within that time before the start get none: their confirmation is fresh.
    Commits; returns the new messages' ids."""
    before = timedelta(hours=current_app.config["REMINDER_HOURS_BEFORE"])
    candidates = db.session.execute(
        select(Booking.id, Booking.user_id, Booking.event_id, Booking.created_at,
               Event.starts_at, User.email)
        .join(Booking.event)
        .join(Booking.user)
        .outerjoin(OutboxMessage, OutboxMessage.send_key == _reminder_key_expression())
        .where(
            Booking.status == BOOKING_CONFIRMED,
            Event.is_listed,
            Event.starts_at > now,
            Event.starts_at <= now + before,
            User.reminders_enabled.is_(True),
            User.is_active.is_(True),
            OutboxMessage.id.is_(None),
        )
        .order_by(Event.starts_at)
        .limit(limit)
    ).all()  # fmt: skip
    ids = [
        outbox.queue(
            emails.REMINDER,
            f"reminder:{row.id}",
            row.email,
            user_id=row.user_id,
            booking_id=row.id,
            event_id=row.event_id,
        )
        for row in candidates
        if row.created_at <= row.starts_at - before
    ]
    db.session.commit()
    return ids


def _reminder_key_expression():
    return literal("reminder:") + cast(Booking.id, String)


def unsubscribe_token(user: User) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).dumps(user.id)


def unsubscribe_url(user: User) -> str:
    return url_for("bookings.reminders_off", token=unsubscribe_token(user), _external=True)


def user_from_token(token: str) -> User | None:
    try:
        user_id = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).loads(
            token
        )
    except BadSignature:
        return None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    return db.session.get(User, user_id)


def set_reminders(user: User, enabled: bool) -> None:
    user.reminders_enabled = enabled
    db.session.commit()
