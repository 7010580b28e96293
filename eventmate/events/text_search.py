"""Free-text matching for the search: full-text search on PostgreSQL, LIKE on SQLite.

The condition is built from bound parameters (`term_0`, `term_1`, …) whose values
`text_terms` gives, so one statement serves every query text of the same shape.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, case, func, literal, literal_column, or_
from sqlalchemy.dialects.postgresql import REGCONFIG

from eventmate.models import Event

SEARCH_CONFIG = "english"
MAX_SQLITE_TERMS = 8


def text_terms(q: str, dialect: str) -> list[str]:
    """The values of the condition's parameters: PostgreSQL parses the text itself
    (websearch_to_tsquery); on SQLite each word is a LIKE pattern."""
    if dialect == "postgresql":
        return [q]
    words = [word for word in q.lower().split() if word.strip("\"'-")][:MAX_SQLITE_TERMS]
    return [
        "%" + word.strip("\"'").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        for word in words
    ]


def text_match(terms: int, dialect: str) -> tuple[ColumnElement[bool], ColumnElement]:
    """A full-text condition on `terms` parameters, and a rank expression."""
    if dialect == "postgresql":
        # `search_vector` is a generated tsvector column with a GIN index (see migrations).
        tsquery = func.websearch_to_tsquery(
            literal(SEARCH_CONFIG).cast(REGCONFIG), bindparam("term_0")
        )
        vector = literal_column("events.search_vector")
        return vector.op("@@")(tsquery), func.ts_rank_cd(vector, tsquery)
    return _sqlite_text_match(terms)


def _sqlite_text_match(terms: int) -> tuple[ColumnElement[bool], ColumnElement]:
    """SQLite: every word must appear in the title or description; title hits rank higher."""
    conditions, title_hits = [], []
    for n in range(terms):
        pattern = bindparam(f"term_{n}")
        in_title = Event.title.ilike(pattern, escape="\\")
        conditions.append(or_(in_title, Event.description.ilike(pattern, escape="\\")))
        title_hits.append(case((in_title, 1), else_=0))
    if not conditions:
        return literal(True), literal(0)
    return and_(*conditions), sum(title_hits[1:], title_hits[0])
