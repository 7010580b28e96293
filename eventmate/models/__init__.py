"""The data model. Import models from here."""

from eventmate.models.activity import (
    BOOKING_CANCELLED,
    BOOKING_CONFIRMED,
    Booking,
    Review,
)
from eventmate.models.events import CATEGORIES, CATEGORY_BY_SLUG, Category, Event, EventImage
from eventmate.models.outbox import OutboxMessage
from eventmate.models.places import City
from eventmate.models.types import UTCDateTime, utcnow
from eventmate.models.users import User, normalise_email
from eventmate.models.waitlist import WaitlistEntry

__all__ = [
    "BOOKING_CANCELLED",
    "BOOKING_CONFIRMED",
    "CATEGORIES",
    "CATEGORY_BY_SLUG",
    "Booking",
    "Category",
    "City",
    "Event",
    "EventImage",
    "OutboxMessage",
    "Review",
    "UTCDateTime",
    "User",
    "WaitlistEntry",
    "normalise_email",
    "utcnow",
]
