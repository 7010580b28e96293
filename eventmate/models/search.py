"""PostgreSQL full-text search objects that live outside the ORM models.

`events.search_vector` is a generated `tsvector` column with a GIN index. It exists only on
PostgreSQL (SQLite searches with LIKE), so the models don't declare it; the migration creates
it and `include_object` keeps Alembic's autogenerate from proposing to drop it.
"""

from __future__ import annotations

SEARCH_VECTOR_COLUMN = "search_vector"
SEARCH_VECTOR_INDEX = "ix_events_search_vector"
_POSTGRES_ONLY = {("column", SEARCH_VECTOR_COLUMN), ("index", SEARCH_VECTOR_INDEX)}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic hook: ignore the PostgreSQL-only search objects when comparing schemas."""
    return (type_, name) not in _POSTGRES_ONLY
