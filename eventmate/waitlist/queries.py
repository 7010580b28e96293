"""Read queries about waitlists: a member's place in line, the lengths of lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from eventmate.extensions import db
from eventmate.models import Booking, Event, WaitlistEntry
from eventmate.models.waitlist import IN_LINE, OFFERED, WAITING


@dataclass(frozen=True)
class Standing:
    """A member's entry in an event's line, as the event page shows it."""

    status: str  # waiting or offered
    quantity: int
    position: int  # 1 + the waiting entries ahead
    hold_expires_at: datetime | None

    @property
    def is_offered(self) -> bool:
        return self.status == OFFERED


def _position(entry):
    """1 + the waiting entries of the same event that joined before `entry` (a correlated
    subquery on the entries table under the name `entry`)."""
    ahead = aliased(WaitlistEntry)
    return (
        select(func.count() + 1)
        .where(
            ahead.event_id == entry.event_id,
            ahead.status == WAITING,
            or_(
                ahead.created_at < entry.created_at,
                and_(ahead.created_at == entry.created_at, ahead.id < entry.id),
            ),
        )
        .correlate(entry)
        .scalar_subquery()
    )


def position_in_line(entry_id: int) -> int:
    """The entry's place: 1 + the waiting entries ahead of it (1 query)."""
    return db.session.scalar(select(_position(WaitlistEntry)).where(WaitlistEntry.id == entry_id))


def standing(user_id: int, event_id: int) -> Standing | None:
    """The member's place in the event's line or the offer they have, or None (1 query)."""
    row = db.session.execute(
        select(
            WaitlistEntry.status,
            WaitlistEntry.quantity,
            _position(WaitlistEntry),
            WaitlistEntry.hold_expires_at,
        ).where(
            WaitlistEntry.user_id == user_id,
            WaitlistEntry.event_id == event_id,
            WaitlistEntry.status.in_(IN_LINE),
        )
    ).first()
    return Standing(*row) if row else None


def waiting_count():
    """A column for a query of events: how many entries wait in each one's line (a correlated
    subquery, so a list of events costs no query per event)."""
    return (
        select(func.count())
        .where(WaitlistEntry.event_id == Event.id, WaitlistEntry.status == WAITING)
        .correlate(Event)
        .scalar_subquery()
        .label("waiting")
    )


def booking_reference(booking_id: int) -> str | None:
    """The reference of the booking a claimed offer became."""
    return db.session.scalar(select(Booking.reference).where(Booking.id == booking_id))
