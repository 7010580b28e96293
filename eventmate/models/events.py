from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    and_,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventmate.extensions import db
from eventmate.models.places import City
from eventmate.models.types import UTCDateTime, utcnow
from eventmate.models.users import User

if TYPE_CHECKING:
    from eventmate.models.activity import Review


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    blurb: str


CATEGORIES = (
    Category("music", "Music", "Concerts, gigs, festivals and open mics."),
    Category("tech", "Tech", "Meetups, talks, hackathons and workshops for builders."),
    Category("food", "Food & Drink", "Tastings, supper clubs, markets and cooking classes."),
    Category("sports", "Sports", "Runs, matches, rides and classes to join or watch."),
    Category("arts", "Arts", "Exhibitions, theatre, film and dance."),
    Category("business", "Business", "Conferences, networking and founder events."),
    Category("community", "Community", "Neighbourhood gatherings, volunteering and causes."),
    Category("education", "Education", "Courses, lectures and hands-on learning."),
    Category("family", "Family", "Days out and activities for all ages."),
    Category("wellness", "Wellness", "Yoga, meditation, health and mindful living."),
)
CATEGORY_BY_SLUG = {category.slug: category for category in CATEGORIES}
_CATEGORY_LIST = ", ".join(f"'{category.slug}'" for category in CATEGORIES)


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_non_negative"),
        # Held seats are offered to the waitlist: nobody else may take them (eventmate/waitlist).
        CheckConstraint(
            "seats_booked >= 0 AND seats_held >= 0 AND seats_booked + seats_held <= capacity",
            name="seats_within_capacity",
        ),
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("max_per_booking >= 1", name="max_per_booking_positive"),
        CheckConstraint(f"category IN ({_CATEGORY_LIST})", name="category_known"),
        Index("ix_events_slug", "slug", unique=True),
        Index("ix_events_category_active", "category", "is_active"),
        Index("ix_events_start_active", "starts_at", "is_active"),
        Index("ix_events_city_active", "city_id", "is_active"),
        Index("ix_events_active_start_city", "is_active", "starts_at", "city_id"),
        Index("ix_events_host_active", "host_id", "is_active"),
        # Home-page counts per category, and the "price" and "newest" sorts of the search.
        Index("ix_events_active_category_start", "is_active", "category", "starts_at"),
        Index("ix_events_active_price", "is_active", "price", "starts_at"),
        Index("ix_events_active_created", "is_active", "created_at"),
        # Search by city, and the home page's per-city counts: one short range per city.
        Index("ix_events_active_city_start", "is_active", "city_id", "starts_at"),
        # Sitemap files: upcoming events in id order from the index alone. updated_at is left
        # out on purpose: every booking changes it, and indexing it would end HOT updates.
        Index("ix_events_active_id", "is_active", "id", postgresql_include=["starts_at"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(140))
    title: Mapped[str] = mapped_column(String(140))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20))
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    venue_name: Mapped[str] = mapped_column(String(140))
    venue_address: Mapped[str] = mapped_column(String(255), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    seats_booked: Mapped[int] = mapped_column(Integer, default=0)
    seats_held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    max_per_booking: Mapped[int] = mapped_column(Integer, default=10)
    # Whether the event is on the site is four switches, read together by `is_listed`:
    # published (a new event is a draft, NULL, until its host publishes it; there is no going
    # back), the host's own (is_active: the dashboard's Deactivate/Reactivate), an
    # administrator's suspension (`flask events suspend`), which the host can't lift, and the
    # host's account (`flask users deactivate` turns host_active off on all their events).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    suspension_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    host_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Called off for good by its host or an administrator (also inactive; bookings cancelled).
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    city: Mapped[City] = relationship()
    host: Mapped[User] = relationship()
    images: Mapped[list[EventImage]] = relationship(
        back_populates="event", order_by="EventImage.position", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[Review]] = relationship(back_populates="event")

    @hybrid_property
    def is_listed(self) -> bool:
        """Shown, found and bookable: the one rule every visitor query filters on."""
        return (
            self.is_active
            and self.suspended_at is None
            and self.host_active
            and self.published_at is not None
        )

    @is_listed.inplace.expression
    @classmethod
    def _is_listed_expression(cls):
        # The indexes lead with is_active; the others are checked on the rows it finds.
        return and_(
            cls.is_active.is_(True),
            cls.suspended_at.is_(None),
            cls.host_active.is_(True),
            cls.published_at.is_not(None),
        )

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def is_draft(self) -> bool:
        return self.published_at is None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_booked - self.seats_held, 0)

    @property
    def is_sold_out(self) -> bool:
        return self.seats_left == 0

    @property
    def category_info(self) -> Category:
        return CATEGORY_BY_SLUG[self.category]

    def __repr__(self) -> str:
        return f"<Event {self.slug}>"


class EventImage(db.Model):
    __tablename__ = "event_images"
    __table_args__ = (Index("ix_event_images_event_position", "event_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(500))
    storage_id: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt_text: Mapped[str] = mapped_column(String(200), default="")

    event: Mapped[Event] = relationship(back_populates="images")
