"""The search's queries: one set of statements per shape of the filters, run with their values.

Like queries.py, every statement comes from a `build_*` function for scripts/explain_queries.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlencode

from sqlalchemy import Integer, Select, bindparam, func, select

from eventmate.caching import cached, listing_tokens
from eventmate.events.filters import SearchFilters
from eventmate.events.queries import EVENT_CARDS, LISTED, EventCard, cards
from eventmate.events.text_search import text_match, text_terms
from eventmate.extensions import db
from eventmate.models import Event
from eventmate.pagination import page_count


@dataclass
class SearchResults:
    cards: list[EventCard]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)


# --- search: budget 3 queries (cities, count, page) -----------------------------------------
# A relevance-ranked text search counts in its page query (2); a page past its end costs one
# more, while the cities are not cached.


@dataclass(frozen=True)
class SearchShape:
    """Which filters a search has (not their values): one set of statements per shape, built
    once and run with the values as parameters (building them was an eighth of a search's
    CPU)."""

    dialect: str
    has_end: bool
    category: bool
    city: bool
    terms: int  # text-search parameters; 0: no text search
    sort: str


def _search_shape(filters: SearchFilters, now: datetime) -> tuple[SearchShape, dict]:
    """The shape of the filters' statements and their parameter values."""
    dialect = db.session.get_bind().dialect.name
    start, end = filters.window(now)
    values: dict = {"start": start}
    if end is not None:
        values["end"] = end
    if filters.category:
        values["category"] = filters.category
    if filters.city:
        values["city_id"] = filters.city.id
    terms = text_terms(filters.q, dialect) if filters.q else []
    values.update({f"term_{n}": term for n, term in enumerate(terms)})
    shape = SearchShape(
        dialect, end is not None, bool(filters.category), bool(filters.city), len(terms),
        filters.sort,
    )  # fmt: skip
    return shape, values


def _search_conditions(shape: SearchShape) -> tuple[list, object]:
    """The WHERE conditions of the shape, and the rank expression when it has text terms."""
    conditions = [LISTED, Event.starts_at >= bindparam("start")]
    if shape.has_end:
        conditions.append(Event.starts_at < bindparam("end"))
    if shape.category:
        conditions.append(Event.category == bindparam("category"))
    if shape.city:
        conditions.append(Event.city_id == bindparam("city_id"))
    rank = None
    if shape.terms:
        text_condition, rank = text_match(shape.terms, shape.dialect)
        conditions.append(text_condition)
    return conditions, rank


@lru_cache(maxsize=512)
def _count_statement(shape: SearchShape) -> Select:
    conditions, _rank = _search_conditions(shape)
    return select(func.count()).select_from(Event).where(*conditions)


@lru_cache(maxsize=512)
def _page_statement(shape: SearchShape, with_total: bool) -> Select:
    """One page of cards: the page's ids are chosen first, then only those rows are loaded.

    Sorting thousands of full rows (description, joined city and host) to keep 20 cost up to
    twice as much as sorting their ids; the ordering is the same, so are the results.
    `with_total` adds a `total` column: the number of matches, counted in the same pass.
    """
    conditions, rank = _search_conditions(shape)
    ordering = _ordering(shape.sort, rank)
    columns = [Event.id, func.count().over().label("total")] if with_total else [Event.id]
    page_ids = (
        select(*columns)
        .where(*conditions)
        .order_by(*ordering)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page_ids")
    )
    query = EVENT_CARDS.join(page_ids, page_ids.c.id == Event.id).order_by(*ordering)
    return query.add_columns(page_ids.c.total) if with_total else query


def _page_values(values: dict, page: int, per_page: int) -> dict:
    return {**values, "limit": per_page, "offset": (page - 1) * per_page}


def build_search_count(filters: SearchFilters, now: datetime) -> Select:
    """The count statement with the filters' values bound (for scripts/explain_queries.py)."""
    shape, values = _search_shape(filters, now)
    return _count_statement(shape).params(values)


def build_search_page(
    filters: SearchFilters, now: datetime, page: int, per_page: int, with_total: bool = False
) -> Select:
    """The page statement with the filters' values bound (for scripts/explain_queries.py)."""
    shape, values = _search_shape(filters, now)
    return _page_statement(shape, with_total).params(_page_values(values, page, per_page))


def search_total(filters: SearchFilters, now: datetime, cache_seconds: int = 0) -> int:
    """Matches of the filters. Every visitor, page and sort order of a search shares one
    count, and broad counts are the slow part (all upcoming events: 9 ms on the 100k-event
    data set), so it is cached per filter set, under the listings' tokens."""
    key = "search-count:" + urlencode(sorted(filters.params(page="", sort="").items()))
    tokens = listing_tokens(bool(filters.q))

    def count() -> int:
        shape, values = _search_shape(filters, now)
        return db.session.scalar(_count_statement(shape), values)

    return cached("aggregate", key, tokens, count, cache_seconds)


def search_events(
    filters: SearchFilters, now: datetime, per_page: int, cache_seconds: int = 0
) -> SearchResults:
    shape, values = _search_shape(filters, now)
    if filters.q and filters.sort == "relevance":
        # Ranking reads every match anyway, so the page query counts them too: one pass over
        # the matches instead of two. No rows means no matches or a page past the end.
        query = _page_statement(shape, with_total=True)
        rows = db.session.execute(query, _page_values(values, filters.page, per_page)).all()
        if rows:
            found = [EventCard(*row[:-1]) for row in rows]
            return SearchResults(found, rows[0].total, filters.page, per_page)

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

    rows = db.session.execute(_page_statement(shape, False), _page_values(values, page, per_page))
    return SearchResults(cards(rows), total, page, per_page)


def _ordering(sort: str, rank) -> list:
    if sort == "relevance" and rank is not None:
        return [rank.desc(), Event.starts_at, Event.id]
    if sort == "newest":
        return [Event.created_at.desc(), Event.id.desc()]
    if sort == "price":
        return [Event.price, Event.starts_at, Event.id]
    return [Event.starts_at, Event.id]
