"""Fast loading into PostgreSQL for `flask seed bulk`: streamed COPY, deferred index builds.

Measured on the 100k-event data set, almost all of the load time went to per-row work the
server does during COPY: a foreign-key check per row and per constraint (24 s of the 38 s for
1M bookings) and the maintenance of every secondary index. Building the indexes and validating
the foreign keys once, after the rows are in, does the same work in bulk.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, text

# Sorting 1M index entries in memory instead of in temporary files; reset at commit.
BUILD_MEMORY = "256MB"
PROGRESS_EVERY = 10_000
COPY_READ_SIZE = 1 << 16

# Secondary indexes of a table, except those that back a constraint (primary key, unique).
_INDEXES_SQL = text(
    """
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    WHERE i.indrelid = to_regclass(:table)
      AND NOT EXISTS (
        SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
      )
    ORDER BY 1
    """
)
_FOREIGN_KEYS_SQL = text(
    """
    SELECT quote_ident(conname) AS name, pg_get_constraintdef(oid) AS definition
    FROM pg_constraint
    WHERE conrelid = to_regclass(:table) AND contype = 'f'
    ORDER BY 1
    """
)


@contextmanager
def indexes_deferred(connection: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Drop the tables' secondary indexes and foreign keys, and recreate them on exit.

    Everything happens inside the caller's transaction: other sessions wait on the tables'
    locks until it commits, and a failure rolls the drops back with the rows. The definitions
    are read from the catalog, so what is recreated is exactly what the migrations made
    (including the full-text GIN index the models don't declare). Recreating a unique index
    or a foreign key checks every row, so bad data still fails the load.
    """
    indexes: list[tuple[str, str]] = []
    foreign_keys: list[tuple[str, str, str]] = []
    for table in tables:
        for name, definition in connection.execute(_FOREIGN_KEYS_SQL, {"table": table}):
            foreign_keys.append((table, name, definition))
            connection.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
        for name, definition in connection.execute(_INDEXES_SQL, {"table": table}):
            indexes.append((name, definition))
            connection.execute(text(f"DROP INDEX {name}"))
    yield
    connection.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
    for _name, definition in indexes:
        connection.execute(text(definition))
    for table, name, definition in foreign_keys:
        connection.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))


def copy_rows(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    advance: Callable[[int], None],
) -> None:
    """COPY rows in, formatting them as CSV while the server is busy with the earlier ones."""
    stream = _CsvStream(rows, advance)
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
            stream,
            size=COPY_READ_SIZE,
        )
    finally:
        cursor.close()
    stream.finish()


class _CsvStream:
    """A file-like object for psycopg2's copy_expert that renders rows only when asked."""

    def __init__(self, rows: Iterable[Sequence], advance: Callable[[int], None]) -> None:
        self._rows = iter(rows)
        self._advance = advance
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)
        self._pending = 0

    def read(self, size: int = -1) -> str:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        # A few rows over `size` is fine: copy_expert sends whatever read() returns.
        target = size if size > 0 else 1 << 20
        for row in self._rows:
            self._writer.writerow(row)
            self._pending += 1
            if self._pending == PROGRESS_EVERY:
                self._advance(self._pending)
                self._pending = 0
            if buffer.tell() >= target:
                break
        return buffer.getvalue()

    def finish(self) -> None:
        if self._pending:
            self._advance(self._pending)
            self._pending = 0


def reset_sequences(connection: Connection, tables: Iterable[str]) -> None:
    """Explicit ids leave the id sequences behind; move them past the data."""
    for table in tables:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        )
