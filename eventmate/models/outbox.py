"""The transactional outbox: an email to send, written in the same transaction as its cause."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from eventmate.extensions import db
from eventmate.models.types import UTCDateTime, utcnow

PENDING = "pending"
SENT = "sent"
SKIPPED = "skipped"  # no longer applies when its turn came (a reminder for a cancelled booking)
FAILED = "failed"  # gave up after OUTBOX_MAX_ATTEMPTS
_PENDING_SQL = "status = 'pending'"


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        # One row per thing to say: a second request to say it finds the first (send key).
        Index("ix_outbox_send_key", "send_key", unique=True),
        # The sweep's scan: pending rows that are due.
        Index(
            "ix_outbox_pending_due",
            "next_attempt_at",
            sqlite_where=text(_PENDING_SQL),
            postgresql_where=text(_PENDING_SQL),
        ),
        Index("ix_outbox_booking", "booking_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    send_key: Mapped[str] = mapped_column(String(160))
    to_address: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), nullable=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=True
    )
    # What the message needs beyond the rows it names (an event's old time, say).
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the sweep hands it to a worker (again): a while after it was queued, later after
    # each failure.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")
