"""Read queries behind a host's profile page: budget 5 queries (the host, their rating, the
upcoming events, the past events with ratings, the latest reviews)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from eventmate.events.queries import (
    EVENT_CARDS,
    LISTED,
    EventCard,
    RatingSummary,
    cards,
    upcoming_filter,
)
from eventmate.extensions import db
from eventmate.models import Event, Review, User


class PastEvent(NamedTuple):
    card: EventCard
    rating: RatingSummary


def public_host(host_id: int) -> User | None:
    """A host whose account is active; anyone else has no profile (a 404)."""
    return db.session.scalar(
        select(User).where(User.id == host_id, User.is_host.is_(True), User.is_active.is_(True))
    )


def _hosted_by(host_id: int):
    return (Event.host_id == host_id) & LISTED


def host_rating(host_id: int) -> RatingSummary:
    average, count = db.session.execute(
        select(func.avg(Review.rating), func.count(Review.id))
        .join(Review.event)
        .where(_hosted_by(host_id))
    ).one()
    return RatingSummary(float(average) if average is not None else None, count)


def upcoming(host_id: int, now: datetime, limit: int) -> list[EventCard]:
    query = (
        EVENT_CARDS.where(_hosted_by(host_id), upcoming_filter(now))
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
    )
    return cards(db.session.execute(query))


def past(host_id: int, now: datetime, limit: int) -> list[PastEvent]:
    """The latest past events, each with its reviews' average and count (correlated)."""
    reviews = select(Review).where(Review.event_id == Event.id).correlate(Event)
    average = reviews.with_only_columns(func.avg(Review.rating)).scalar_subquery()
    count = reviews.with_only_columns(func.count(Review.id)).scalar_subquery()
    query = (
        EVENT_CARDS.add_columns(average, count)
        .where(_hosted_by(host_id), Event.starts_at < now)
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return [
        PastEvent(EventCard(*row[:-2]), RatingSummary(
            float(row[-2]) if row[-2] is not None else None, row[-1]
        ))
        for row in db.session.execute(query)
    ]  # fmt: skip


def latest_reviews(host_id: int, limit: int) -> list[Review]:
    """The newest reviews of the host's events, each with its author and event."""
    query = (
        select(Review)
        .join(Review.user)
        .join(Review.event)
        .join(Event.city)
        .options(
            contains_eager(Review.user),
            contains_eager(Review.event).contains_eager(Event.city),
        )
        .where(_hosted_by(host_id))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
