"""Who may review, and writing reviews. Each write owns its commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, select

from eventmate.caching import invalidate_event
from eventmate.extensions import db
from eventmate.models import BOOKING_CONFIRMED, Booking, Event, Review, User

MAX_REVIEW_LENGTH = 2000


@dataclass(frozen=True)
class ReviewStanding:
    """What the current member can do about reviewing one event (budget: 1 query)."""

    may_review: bool
    own_review: Review | None


def review_standing(user: User, event: Event) -> ReviewStanding:
    """Reviews open when the event ends (`event`: an Event, or an event page's facts, whose
    end older cached copies lack). Budget: 1 query, none before then."""
    if (event.ends_at or event.starts_at) > datetime.now(UTC):
        return ReviewStanding(may_review=False, own_review=None)
    attended = (
        exists()
        .where(
            Booking.user_id == user.id,
            Booking.event_id == event.id,
            Booking.status == BOOKING_CONFIRMED,
        )
        .correlate(None)
    )
    row = db.session.execute(
        select(attended.label("attended"), Review)
        .select_from(Event)
        .outerjoin(Review, (Review.event_id == Event.id) & (Review.user_id == user.id))
        .where(Event.id == event.id)
    ).one()
    return ReviewStanding(may_review=bool(row.attended), own_review=row.Review)


def save_review(user: User, event: Event, rating: int, body: str) -> Review:
    """Create the member's review of the event, or update the one they wrote. Commits."""
    review = db.session.scalar(
        select(Review).where(Review.user_id == user.id, Review.event_id == event.id)
    )
    if review is None:
        review = Review(user_id=user.id, event_id=event.id)
        db.session.add(review)
    review.rating = rating
    review.body = body.strip()
    db.session.commit()
    _changed(event.slug)
    return review


def delete_review(review: Review) -> None:
    slug = review.event.slug
    db.session.delete(review)
    db.session.commit()
    _changed(slug)


def _changed(slug: str) -> None:
    """The event's rating and review list are out of date: its version token (which its
    pages are kept under) moves on."""
    invalidate_event(slug)
