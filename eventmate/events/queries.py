"""Read-only queries behind the visitor pages.

Each page function documents its query budget; tests count the statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from eventmate.events.filters import SearchFilters
from eventmate.extensions import cache, db
from eventmate.models import CATEGORIES, City, Event, EventImage, Review

SEARCH_CONFIG = "english"
MAX_SQLITE_TERMS = 8


@dataclass
class EventCard:
    """An event as shown in a list: the event (with city and host loaded) and its cover image."""

    event: Event
    cover_url: str | None


@dataclass
class SearchResults:
    cards: list[EventCard]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


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


def _event_cards_query() -> Select:
    return (
        select(Event, cover_url_column())
        .join(Event.city)
        .join(Event.host)
        .options(contains_eager(Event.city), contains_eager(Event.host))
    )


def _cards(rows) -> list[EventCard]:
    return [EventCard(event, cover_url) for event, cover_url in rows]


def upcoming_filter(now: datetime):
    return and_(Event.is_active.is_(True), Event.starts_at >= now)


# --- shared lookups -------------------------------------------------------------------------


def all_cities() -> list[City]:
    """Every city, alphabetically (1 query when not cached). Cities change rarely."""
    cities = cache.get("cities:all")
    if cities is None:
        cities = list(db.session.scalars(select(City).order_by(City.name)))
        for city in cities:
            db.session.expunge(city)
        cache.set("cities:all", cities, timeout=300)
    return cities


def cities_by_slug() -> dict[str, City]:
    return {city.slug: city for city in all_cities()}


# --- home: budget 3 queries (upcoming, category counts, top cities) -------------------------


def upcoming_events(now: datetime, limit: int) -> list[EventCard]:
    query = _event_cards_query().where(upcoming_filter(now)).order_by(Event.starts_at, Event.id)
    return _cards(db.session.execute(query.limit(limit)))


def category_counts(now: datetime, cache_seconds: int) -> list[tuple]:
    """(category, count of upcoming events) for every category, including empty ones."""
    counts = cache.get("home:category-counts") if cache_seconds else None
    if counts is None:
        query = (
            select(Event.category, func.count())
            .where(upcoming_filter(now))
            .group_by(Event.category)
        )
        counts = dict(db.session.execute(query).all())
        if cache_seconds:
            cache.set("home:category-counts", counts, timeout=cache_seconds)
    return [(category, counts.get(category.slug, 0)) for category in CATEGORIES]


def top_cities(now: datetime, limit: int, cache_seconds: int) -> list[tuple[City, int]]:
    rows = cache.get("home:top-cities") if cache_seconds else None
    if rows is None:
        counts = (
            select(Event.city_id, func.count().label("upcoming"))
            .where(upcoming_filter(now))
            .group_by(Event.city_id)
            .order_by(func.count().desc())
            .limit(limit)
            .subquery()
        )
        query = (
            select(City, counts.c.upcoming)
            .join(counts, counts.c.city_id == City.id)
            .order_by(counts.c.upcoming.desc(), City.name)
        )
        rows = [(city, upcoming) for city, upcoming in db.session.execute(query)]
        for city, _ in rows:
            db.session.expunge(city)
        if cache_seconds:
            cache.set("home:top-cities", rows, timeout=cache_seconds)
    return rows


# --- search: budget 3 queries (cities, count, page) -----------------------------------------


def search_events(filters: SearchFilters, now: datetime, per_page: int) -> SearchResults:
    start, end = filters.window(now)
    conditions = [Event.is_active.is_(True), Event.starts_at >= start]
    if end is not None:
        conditions.append(Event.starts_at < end)
    if filters.category:
        conditions.append(Event.category == filters.category)
    if filters.city:
        conditions.append(Event.city_id == filters.city.id)

    rank = None
    if filters.q:
        text_condition, rank = _text_match(filters.q)
        conditions.append(text_condition)

    total = db.session.scalar(select(func.count()).select_from(Event).where(*conditions))
    pages = max(1, -(-total // per_page))
    page = filters.page
    if page > pages:
        if total:
            filters.notices.append(f"There are only {pages} pages of results; showing the last.")
        page = pages
    filters.page = page
    if not total:
        return SearchResults([], 0, 1, per_page)

    query = _event_cards_query().where(*conditions)
    query = query.order_by(*_ordering(filters.sort, rank))
    query = query.limit(per_page).offset((page - 1) * per_page)
    return SearchResults(_cards(db.session.execute(query)), total, page, per_page)


def _ordering(sort: str, rank) -> list:
    if sort == "relevance" and rank is not None:
        return [rank.desc(), Event.starts_at, Event.id]
    if sort == "newest":
        return [Event.created_at.desc(), Event.id.desc()]
    if sort == "price":
        return [Event.price, Event.starts_at, Event.id]
    return [Event.starts_at, Event.id]


def _text_match(q: str):
    """A full-text condition and a rank expression for the current database."""
    if db.session.get_bind().dialect.name == "postgresql":
        # `search_vector` is a generated tsvector column with a GIN index (see migrations).
        tsquery = func.websearch_to_tsquery(literal(SEARCH_CONFIG).cast(REGCONFIG), q)
        vector = literal_column("events.search_vector")
        return vector.op("@@")(tsquery), func.ts_rank_cd(vector, tsquery)
    return _sqlite_text_match(q)


def _sqlite_text_match(q: str):
    """SQLite: every word must appear in the title or description; title hits rank higher."""
    terms = [term for term in q.lower().split() if term.strip("\"'-")][:MAX_SQLITE_TERMS]
    conditions, title_hits = [], []
    for term in terms:
        pattern = (
            "%"
            + term.strip("\"'").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        in_title = Event.title.ilike(pattern, escape="\\")
        conditions.append(or_(in_title, Event.description.ilike(pattern, escape="\\")))
        title_hits.append(case((in_title, 1), else_=0))
    if not conditions:
        return literal(True), literal(0)
    return and_(*conditions), sum(title_hits[1:], title_hits[0])


# --- detail: budget 4 queries (event, images, rating summary, review page) ------------------


@dataclass
class RatingSummary:
    average: float | None
    count: int


def active_event_by_slug(slug: str) -> Event | None:
    query = (
        select(Event)
        .where(Event.slug == slug, Event.is_active.is_(True))
        .options(joinedload(Event.city), joinedload(Event.host), selectinload(Event.images))
    )
    return db.session.scalars(query).first()


def rating_summary(event_id: int) -> RatingSummary:
    average, count = db.session.execute(
        select(func.avg(Review.rating), func.count(Review.id)).where(Review.event_id == event_id)
    ).one()
    return RatingSummary(float(average) if average is not None else None, count)


def reviews_page(event_id: int, page: int, per_page: int) -> list[Review]:
    query = (
        select(Review)
        .join(Review.user)
        .options(contains_eager(Review.user))
        .where(Review.event_id == event_id)
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(db.session.scalars(query))


# --- sitemap --------------------------------------------------------------------------------


def sitemap_event_rows(now: datetime, number: int, per_file: int) -> list[tuple]:
    """(slug, updated_at) of the `number`th block of active upcoming events, in id order."""
    query = (
        select(Event.slug, Event.updated_at)
        .where(upcoming_filter(now))
        .order_by(Event.id)
        .offset((number - 1) * per_file)
        .limit(per_file)
    )
    return [tuple(row) for row in db.session.execute(query)]


def count_upcoming(now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(Event).where(upcoming_filter(now)))
