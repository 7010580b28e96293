"""Read-only queries behind the visitor pages (the search's are in search_queries.py).

Each page function documents its query budget; tests count the statements. Every query is
built by a `build_*` function and run by the function the routes call, so
scripts/explain_queries.py can EXPLAIN exactly the SQL the site sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from eventmate.caching import LISTINGS, cached

# The city lookups live in their own module; the routes find them here with the rest.
from eventmate.events.cities import CITY_COLUMNS, CityInfo
from eventmate.events.cities import all_cities as all_cities
from eventmate.events.cities import build_all_cities as build_all_cities
from eventmate.events.cities import cities_by_slug as cities_by_slug
from eventmate.events.cities import city_options as city_options
from eventmate.extensions import db
from eventmate.models import CATEGORIES, CATEGORY_BY_SLUG, City, Event, EventImage, Review


class EventCard(NamedTuple):
    """An event as a list shows it (_macros.html event_card): one row of plain values."""

    slug: str
    title: str
    category: str
    city_name: str
    timezone: str
    starts_at: datetime
    price: Decimal
    currency: str
    seats_left: int
    cover_url: str | None

    @property
    def category_name(self) -> str:
        return CATEGORY_BY_SLUG[self.category].name


def cover_url_column():
    """The first image of each event, as a correlated subquery (no extra query per row)."""
    return (
        select(EventImage.url)
        .where(EventImage.event_id == Event.id)
        .order_by(EventImage.position, EventImage.id)
        .limit(1)
        .correlate(Event)
        .scalar_subquery()
        .label("cover_url")
    )


def _build_event_cards_query() -> Select:
    """What a card shows, as columns (no ORM objects: building 20 Events with their cities
    was most of a results page's Python time). Descriptions and hosts are not on cards."""
    taken = Event.seats_booked + Event.seats_held
    seats_left = case((Event.capacity > taken, Event.capacity - taken), else_=0)
    columns = (
        Event.slug, Event.title, Event.category, City.name, City.timezone,
        Event.starts_at, Event.price, Event.currency, seats_left, cover_url_column(),
    )  # fmt: skip
    return select(*columns).select_from(Event).join(Event.city)


# Statements are immutable (each method returns a new one): the parts every query shares are
# built once, not per request (building them was a tenth of a search page's CPU).
EVENT_CARDS = _build_event_cards_query()
LISTED = Event.is_listed


def cards(rows) -> list[EventCard]:
    return [EventCard(*row) for row in rows]


def upcoming_filter(now: datetime):
    """Listed (Event.is_listed: not hidden, suspended, or its host deactivated) and upcoming."""
    return and_(LISTED, Event.starts_at >= now)


def build_similar_events(event: Event, now: datetime, limit: int) -> Select:
    """Upcoming listed events with seats left in the same category or city, soonest first."""
    return (
        EVENT_CARDS.where(
            upcoming_filter(now),
            Event.id != event.id,
            or_(Event.category == event.category, Event.city_id == event.city_id),
            Event.capacity > Event.seats_booked + Event.seats_held,
        )
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
    )


def similar_events(event: Event, now: datetime, limit: int) -> list[EventCard]:
    """What a sold-out event's page suggests instead: 1 query."""
    return cards(db.session.execute(build_similar_events(event, now, limit)))


# --- home: budget 3 queries (upcoming, category counts, top cities) -------------------------


def build_upcoming_events(now: datetime, limit: int) -> Select:
    query = EVENT_CARDS.where(upcoming_filter(now)).order_by(Event.starts_at, Event.id)
    return query.limit(limit)


def upcoming_events(now: datetime, limit: int) -> list[EventCard]:
    return cards(db.session.execute(build_upcoming_events(now, limit)))


def build_category_counts(now: datetime) -> Select:
    return select(Event.category, func.count()).where(upcoming_filter(now)).group_by(Event.category)


def category_counts(now: datetime, cache_seconds: int) -> list[tuple]:
    """(category, count of upcoming events) for every category, including empty ones."""

    def count() -> tuple[tuple[str, int], ...]:
        rows = db.session.execute(build_category_counts(now))
        return tuple((category, count) for category, count in rows)

    counts = dict(cached("aggregate", "home:category-counts", [LISTINGS], count, cache_seconds))
    return [(category, counts.get(category.slug, 0)) for category in CATEGORIES]


def build_top_cities(now: datetime, limit: int | None = None) -> Select:
    """Cities by upcoming events, counted per city on ix_events_active_city_start.

    Counting per city (a few hundred short index ranges) is cheaper than grouping every
    upcoming event. Cities without upcoming events come last with 0; the caller drops them.
    """
    upcoming = (
        select(func.count())
        .select_from(Event)
        .where(upcoming_filter(now), Event.city_id == City.id)
        .correlate(City)
        .scalar_subquery()
        .label("upcoming")
    )
    return select(*CITY_COLUMNS, upcoming).order_by(upcoming.desc(), City.name).limit(limit)


def cities_with_upcoming(now: datetime, cache_seconds: int) -> tuple[tuple[CityInfo, int], ...]:
    """(city, upcoming events) for every city that has some, most first, as plain values: the
    home page's top cities and its city menu, from one cached query (every city is counted
    to sort them anyway)."""

    def count() -> tuple[tuple[CityInfo, int], ...]:
        rows = db.session.execute(build_top_cities(now))
        return tuple((CityInfo(*city), upcoming) for *city, upcoming in rows if upcoming)

    return cached("aggregate", "home:cities-upcoming", [LISTINGS], count, cache_seconds)


# --- detail: budget 2 queries (event with its images and rating summary, review page) ------


@dataclass(frozen=True)
class RatingSummary:
    average: float | None
    count: int


def build_event_by_slug(slug: str) -> Select:
    """The event with city, host and images in one query: a row per image (a handful), each
    repeating the event; the ORM folds them back into one event."""
    return (
        select(Event)
        .where(Event.slug == slug, LISTED)
        .options(joinedload(Event.city), joinedload(Event.host), joinedload(Event.images))
    )


def active_event_by_slug(slug: str) -> Event | None:
    events = db.session.scalars(build_event_by_slug(slug)).unique().all()  # every image row
    return events[0] if events else None


def build_event_page(slug) -> Select:
    """The event (as build_event_by_slug) and its rating summary, in one query."""
    of_event = (Review.event_id == Event.id,)
    average = select(func.avg(Review.rating)).where(*of_event).correlate(Event).scalar_subquery()
    count = select(func.count(Review.id)).where(*of_event).correlate(Event).scalar_subquery()
    return build_event_by_slug(slug).add_columns(
        average.label("rating_average"), count.label("rating_count")
    )


EVENT_PAGE = build_event_page(bindparam("slug"))  # built once, like EVENT_CARDS


def event_page(slug: str) -> tuple[Event, RatingSummary] | None:
    """The listed event and its rating summary, or None. (No cache of its own: the page it
    is for is cached under the same token.)"""
    row = db.session.execute(EVENT_PAGE, {"slug": slug}).unique().first()  # every image row
    if row is None:
        return None
    event, average, count = row
    return event, RatingSummary(float(average) if average is not None else None, count)


def own_draft(slug: str, host_id: int) -> str | None:
    """The slug of this host's draft by that slug (None: no such draft of theirs)."""
    query = select(Event.slug).where(
        Event.slug == slug, Event.host_id == host_id, Event.published_at.is_(None)
    )
    return db.session.scalar(query)


def build_reviews_page(event_id: int, page: int, per_page: int) -> Select:
    return (
        select(Review)
        .join(Review.user)
        .options(contains_eager(Review.user))
        .where(Review.event_id == event_id)
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )


def reviews_page(event_id: int, page: int, per_page: int) -> list[Review]:
    return list(db.session.scalars(build_reviews_page(event_id, page, per_page)))


# --- sitemap --------------------------------------------------------------------------------


def build_sitemap_event_rows(now: datetime, number: int, per_file: int) -> Select:
    """The block's first and last ids come from ix_events_active_id alone; then only the rows
    in that id range are read, not every event before the block (2.5x faster for the last
    of five files on the bulk data set).
    """
    block = (
        select(Event.id)
        .where(upcoming_filter(now))
        .order_by(Event.id)
        .offset((number - 1) * per_file)
        .limit(per_file)
        .cte("block")
    )
    first = select(func.min(block.c.id)).scalar_subquery()
    last = select(func.max(block.c.id)).scalar_subquery()
    return (
        select(Event.slug, Event.updated_at)
        .where(upcoming_filter(now), Event.id.between(first, last))
        .order_by(Event.id)
    )


def sitemap_event_rows(now: datetime, number: int, per_file: int) -> list[tuple]:
    """(slug, updated_at) of the `number`th block of active upcoming events, in id order."""
    query = build_sitemap_event_rows(now, number, per_file)
    return [tuple(row) for row in db.session.execute(query)]


def build_count_upcoming(now: datetime) -> Select:
    return select(func.count()).select_from(Event).where(upcoming_filter(now))


def count_upcoming(now: datetime) -> int:
    return db.session.scalar(build_count_upcoming(now))
