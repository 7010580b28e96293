from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, validates

from eventmate.extensions import db
from eventmate.models.types import UTCDateTime, utcnow


def normalise_email(email: str) -> str:
    return email.strip().lower()


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored normalised, so a plain unique index is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        Index("ix_users_email", "email", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_host: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the member's calendar-feed link; bumped to revoke every link given out before.
    calendar_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Part of every session's login id (get_id); bumped to end all of the account's sessions
    # (a password reset).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set when the member follows the link emailed to the address; needed to book or review.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The reminder email the day before each booked event (its List-Unsubscribe turns it off).
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # When the member accepted the host terms on the site (eventmate/hosts/onboarding.py), and
    # when an administrator suspended their hosting (the site then won't give it back).
    host_terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hosting_suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_id(self) -> str:
        """The session's login id: "id:generation" (Flask-Login's alternative tokens), so bumping
        session_generation signs the account out everywhere."""
        return f"{self.id}:{self.session_generation}"

    @validates("email")
    def _normalise_email(self, _key: str, email: str) -> str:
        return normalise_email(email)

    def __repr__(self) -> str:
        return f"<User {self.email}>"
