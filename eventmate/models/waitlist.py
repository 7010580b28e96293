"""The waitlist of a sold-out event, and the seats held for the member next in line."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventmate.extensions import db
from eventmate.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from eventmate.models.events import Event
    from eventmate.models.users import User

WAITING = "waiting"
OFFERED = "offered"  # seats held for the member until hold_expires_at
CLAIMED = "claimed"
EXPIRED = "expired"
DECLINED = "declined"
LEFT = "left"
CLOSED = "closed"  # the event started or was cancelled with the member still in line
WAITLIST_STATUSES = (WAITING, OFFERED, CLAIMED, EXPIRED, DECLINED, LEFT, CLOSED)
IN_LINE = (WAITING, OFFERED)
_IN_LINE_SQL = "status IN ('waiting', 'offered')"


class WaitlistEntry(db.Model):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in WAITLIST_STATUSES) + ")",
            name="status_known",
        ),
        # The line, in order; and a member is in an event's line at most once.
        Index("ix_waitlist_entries_event_status_created", "event_id", "status", "created_at"),
        Index(
            "ix_waitlist_entries_in_line",
            "event_id",
            "user_id",
            unique=True,
            sqlite_where=text(_IN_LINE_SQL),
            postgresql_where=text(_IN_LINE_SQL),
        ),
        # Holds that run out (the expiry sweep).
        Index("ix_waitlist_entries_status_expiry", "status", "hold_expires_at"),
        Index("ix_waitlist_entries_user_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=WAITING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The booking a claimed offer became.
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), nullable=True
    )

    user: Mapped[User] = relationship()
    event: Mapped[Event] = relationship()
