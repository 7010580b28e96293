"""Free-text matching for the search: full-text search on PostgreSQL, LIKE on SQLite."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, case, func, literal, literal_column, or_
from sqlalchemy.dialects.postgresql import REGCONFIG

from eventmate.extensions import db
from eventmate.models import Event

SEARCH_CONFIG = "english"
MAX_SQLITE_TERMS = 8


def text_match(q: str) -> tuple[ColumnElement[bool], ColumnElement]:
    """A full-text condition and a rank expression for the current database."""
    if db.session.get_bind().dialect.name == "postgresql":
        # `search_vector` is a generated tsvector column with a GIN index (see migrations).
        tsquery = func.websearch_to_tsquery(literal(SEARCH_CONFIG).cast(REGCONFIG), q)
        vector = literal_column("events.search_vector")
        return vector.op("@@")(tsquery), func.ts_rank_cd(vector, tsquery)
    return _sqlite_text_match(q)


def _sqlite_text_match(q: str) -> tuple[ColumnElement[bool], ColumnElement]:
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
