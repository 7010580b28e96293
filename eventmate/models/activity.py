"""What visitors do with events: bookings and reviews."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventmate.extensions import db
from eventmate.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from eventmate.models.events import Event
    from eventmate.models.users import User

BOOKING_CONFIRMED = "confirmed"
BOOKING_CANCELLED = "cancelled"


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("status IN ('confirmed', 'cancelled')", name="status_known"),
        Index("ix_bookings_user_status", "user_id", "status"),
        Index("ix_bookings_event_status", "event_id", "status"),
        Index("ix_bookings_reference", "reference", unique=True),
        # One booking per rendered form: a double submit finds the first booking.
        Index("ix_bookings_request_token", "request_token", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=BOOKING_CONFIRMED)
    reference: Mapped[str] = mapped_column(String(16))
    request_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    event: Mapped[Event] = relationship()


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        UniqueConstraint("event_id", "user_id", name="uq_reviews_event_user"),
        Index("ix_reviews_event_created", "event_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
    event: Mapped[Event] = relationship(back_populates="reviews")
