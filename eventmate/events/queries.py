"""Read-only queries behind the visitor pages.

Each page function documents its query budget; tests count the statements. Every query is
built by a `build_*` function and run by the function the routes call, so
scripts/explain_queries.py can EXPLAIN exactly the SQL the site sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple
from urllib.parse import urlencode

from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.orm import contains_eager, joinedload

from eventmate.caching import LISTINGS, cached, listing_tokens

# The city lookups live in their own module; the routes find them here with the rest.
from eventmate.events.cities import CITY_COLUMNS, CityInfo
from eventmate.events.cities import all_cities as all_cities
from eventmate.events.cities import build_all_cities as build_all_cities
from eventmate.events.cities import cities_by_slug as cities_by_slug
from eventmate.events.cities import city_options as city_options
from eventmate.events.filters import SearchFilters
from eventmate.events.text_search import text_match
from eventmate.extensions import db
from eventmate.models import CATEGORIES, CATEGORY_BY_SLUG, City, Event, EventImage, Review
from eventmate.pagination import page_count


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


@dataclass
class SearchResults:
    cards: list[EventCard]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)


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
    seats_left = case(
        (Event.capacity > Event.seats_booked, Event.capacity - Event.seats_booked), else_=0
    )
    columns = (
        Event.slug, Event.title, Event.category, City.name, City.timezone,
        Event.starts_at, Event.price, Event.currency, seats_left, cover_url_column(),
    )  # fmt: skip
    return select(*columns).select_from(Event).join(Event.city)


# Statements are immutable (each method returns a new one): the parts every query shares are
# built once, not per request (building them was a tenth of a search page's CPU).
EVENT_CARDS = _build_event_cards_query()
LISTED = Event.is_listed


def _cards(rows) -> list[EventCard]:
    return [EventCard(*row) for row in rows]


def upcoming_filter(now: datetime):
    """Listed (Event.is_listed: not hidden, suspended, or its host deactivated) and upcoming."""
    return and_(LISTED, Event.starts_at >= now)


# --- home: budget 3 queries (upcoming, category counts, top cities) -------------------------


def build_upcoming_events(now: datetime, limit: int) -> Select:
    query = EVENT_CARDS.where(upcoming_filter(now)).order_by(Event.starts_at, Event.id)
    return query.limit(limit)


def upcoming_events(now: datetime, limit: int) -> list[EventCard]:
    return _cards(db.session.execute(build_upcoming_events(now, limit)))


def build_category_counts(now: datetime) -> Select:
    return select(Event.category, func.count()).where(upcoming_filter(now)).group_by(Event.category)


def category_counts(now: datetime, cache_seconds: int) -> list[tuple]:
    """(category, count of upcoming events) for every category, including empty ones."""

    def count() -> tuple[tuple[str, int], ...]:
        rows = db.session.execute(build_category_counts(now))
        return tuple((category, count) for category, count in rows)

    counts = dict(cached("aggregate", "home:category-counts", [LISTINGS], count, cache_seconds))
    return [(category, counts.get(category.slug, 0)) for category in CATEGORIES]


def build_top_cities(now: datetime, limit: int) -> Select:
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


def top_cities(now: datetime, limit: int, cache_seconds: int) -> tuple[tuple[CityInfo, int], ...]:
    """(city, upcoming events) for the cities with most, as plain values."""

    def count() -> tuple[tuple[CityInfo, int], ...]:
        rows = db.session.execute(build_top_cities(now, limit))
        return tuple((CityInfo(*city), upcoming) for *city, upcoming in rows if upcoming)

    return cached("aggregate", "home:top-cities", [LISTINGS], count, cache_seconds)


# --- search: budget 3 queries (cities, count, page) -----------------------------------------
# A relevance-ranked text search counts in its page query (2); a page past its end costs one
# more, while the cities are not cached.


def _search_conditions(filters: SearchFilters, now: datetime) -> tuple[list, object]:
    """The WHERE conditions for the filters, and the rank expression when there is a `q`."""
    start, end = filters.window(now)
    conditions = [LISTED, Event.starts_at >= start]
    if end is not None:
        conditions.append(Event.starts_at < end)
    if filters.category:
        conditions.append(Event.category == filters.category)
    if filters.city:
        conditions.append(Event.city_id == filters.city.id)

    rank = None
    if filters.q:
        text_condition, rank = text_match(filters.q)
        conditions.append(text_condition)
    return conditions, rank


def build_search_count(filters: SearchFilters, now: datetime) -> Select:
    conditions, _rank = _search_conditions(filters, now)
    return select(func.count()).select_from(Event).where(*conditions)


def build_search_page(
    filters: SearchFilters, now: datetime, page: int, per_page: int, with_total: bool = False
) -> Select:
    """One page of cards: the page's ids are chosen first, then only those rows are loaded.

    Sorting thousands of full rows (description, joined city and host) to keep 20 cost up to
    twice as much as sorting their ids; the ordering is the same, so are the results.
    `with_total` adds a `total` column: the number of matches, counted in the same pass.
    """
    conditions, rank = _search_conditions(filters, now)
    ordering = _ordering(filters.sort, rank)
    columns = [Event.id, func.count().over().label("total")] if with_total else [Event.id]
    page_ids = (
        select(*columns)
        .where(*conditions)
        .order_by(*ordering)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("page_ids")
    )
    query = EVENT_CARDS.join(page_ids, page_ids.c.id == Event.id).order_by(*ordering)
    return query.add_columns(page_ids.c.total) if with_total else query


def search_total(filters: SearchFilters, now: datetime, cache_seconds: int = 0) -> int:
    """Matches of the filters. Every visitor, page and sort order of a search shares one
    count, and broad counts are the slow part (all upcoming events: 9 ms on the 100k-event
    data set), so it is cached per filter set, under the listings' tokens."""
    key = "search-count:" + urlencode(sorted(filters.params(page="", sort="").items()))
    tokens = listing_tokens(bool(filters.q))

    def count() -> int:
        return db.session.scalar(build_search_count(filters, now))

    return cached("aggregate", key, tokens, count, cache_seconds)


def search_events(
    filters: SearchFilters, now: datetime, per_page: int, cache_seconds: int = 0
) -> SearchResults:
    if filters.q and filters.sort == "relevance":
        # Ranking reads every match anyway, so the page query counts them too: one pass over
        # the matches instead of two. No rows means no matches or a page past the end.
        query = build_search_page(filters, now, filters.page, per_page, with_total=True)
        rows = db.session.execute(query).all()
        if rows:
            cards = [EventCard(*row[:-1]) for row in rows]
            return SearchResults(cards, rows[0].total, filters.page, per_page)

    total = search_total(filters, now, cache_seconds)
    pages = page_count(total, per_page)
    page = filters.page
    if page > pages:
        if total:
            filters.notices.append(f"There are only {pages} pages of results; showing the last.")
        page = pages
    filters.page = page
    if not total:
        return SearchResults([], 0, 1, per_page)

    query = build_search_page(filters, now, page, per_page)
    return SearchResults(_cards(db.session.execute(query)), total, page, per_page)


def _ordering(sort: str, rank) -> list:
    if sort == "relevance" and rank is not None:
        return [rank.desc(), Event.starts_at, Event.id]
    if sort == "newest":
        return [Event.created_at.desc(), Event.id.desc()]
    if sort == "price":
        return [Event.price, Event.starts_at, Event.id]
    return [Event.starts_at, Event.id]


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
