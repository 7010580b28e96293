"""EXPLAIN (ANALYZE, BUFFERS) every list/search query the site makes, on PostgreSQL.

Usage: DATABASE_URL=postgresql://… .venv/bin/python scripts/explain_queries.py [--summary]

Run it against a database seeded with `flask seed bulk`. Each statement comes from the
`build_*` functions in eventmate/events/queries.py and search_queries.py, so it is the SQL the
pages send. The statement is run once first (warm cache, as on a live site) and captured as
the driver sent it, bound values included; then it is explained, and timed without EXPLAIN
(per-node timing makes EXPLAIN ANALYZE slower than the query itself on large scans). Exits 1
if any plan reads `events` with a sequential scan; plans that take over SLOW_MS are flagged.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Select, event, func, select

from eventmate import create_app
from eventmate.events import queries as q
from eventmate.events import search_queries as sq
from eventmate.events.filters import SearchFilters
from eventmate.extensions import db
from eventmate.main.routes import SITEMAP_EVENTS_PER_FILE
from eventmate.models import City, Event, Review

SLOW_MS = 30.0
TOP_NODES = 2
TIMED_RUNS = 5
SEQ_SCAN_EVENTS = re.compile(r"Seq Scan on events\b")
NODE = re.compile(r"^\s*(?:->\s*)?([A-Z][A-Za-z ]+?(?: using \S+)?(?: on \S+(?: \S+)?)?)\s+\(cost=")
ON_EVENTS = re.compile(r" on events\b")


@dataclass
class Result:
    name: str
    statement: str
    plan: str
    ms: float
    run_ms: float
    top_nodes: list[str]
    seq_scan_events: bool

    @property
    def slow(self) -> bool:
        return self.ms > SLOW_MS


@contextmanager
def captured_statements() -> Iterator[list[tuple[str, object]]]:
    """The statements (and bound parameters) the driver is given inside the block."""
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def explain(name: str, run: Callable[[], object]) -> list[Result]:
    """Run the query once, then EXPLAIN ANALYZE each statement it sent."""
    with captured_statements() as seen:
        run()
    results = []
    for index, (statement, parameters) in enumerate(seen):
        label = name if len(seen) == 1 else f"{name} [{index + 1}/{len(seen)}]"
        rows = db.session.connection().exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
        )
        plan = "\n".join(row[0] for row in rows)
        ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
        results.append(
            Result(
                label,
                statement,
                plan,
                ms,
                run_time(statement, parameters),
                plan_summary(plan),
                bool(SEQ_SCAN_EVENTS.search(plan)),
            )
        )
    return results


def run_time(statement: str, parameters: object) -> float:
    """Median milliseconds to run the statement and fetch its rows, measured here."""
    connection = db.session.connection()
    times = []
    for _ in range(TIMED_RUNS):
        started = time.perf_counter()
        connection.exec_driver_sql(statement, parameters).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def plan_summary(plan: str) -> list[str]:
    """The plan's top nodes, then every node that reads `events` (how the table is reached)."""
    nodes = [m.group(1) for line in plan.splitlines() if (m := NODE.match(line))]
    on_events = [node for node in nodes[TOP_NODES:] if ON_EVENTS.search(node)]
    return nodes[:TOP_NODES] + sorted(set(on_events), key=on_events.index)


def execute(query: Select) -> Callable[[], object]:
    # unique(): joined eager loads need it; it doesn't change the SQL.
    return lambda: db.session.execute(query).unique().all()


def sample_values(now: datetime) -> dict:
    """Realistic filter values from the data: a busy city, a title word, a reviewed event."""
    upcoming = q.upcoming_filter(now)
    city_id = db.session.scalar(
        select(Event.city_id).where(upcoming).group_by(Event.city_id).order_by(func.count().desc())
    )
    title = db.session.scalar(select(Event.title).where(upcoming).order_by(Event.id).limit(1))
    reviewed = db.session.scalar(
        select(Review.event_id).group_by(Review.event_id).order_by(func.count().desc()).limit(1)
    )
    return {
        "city": db.session.get(City, city_id),
        "word": title.split()[-1].lower(),
        "phrase": " ".join(title.split()[:2]).lower(),
        "upcoming_slug": db.session.scalar(
            select(Event.slug).where(upcoming).order_by(Event.starts_at.desc()).limit(1)
        ),
        "reviewed_id": reviewed,
        "reviewed_slug": db.session.scalar(select(Event.slug).where(Event.id == reviewed)),
        "upcoming_count": q.count_upcoming(now),
    }


def cases(now: datetime, values: dict, config: dict) -> list[tuple[str, Callable[[], object]]]:
    """(name, run) for every query, with the page sizes the app is configured with."""
    per_page, reviews_per_page = config["EVENTS_PER_PAGE"], config["REVIEWS_PER_PAGE"]
    today = now.date()
    city, word, phrase = values["city"], values["word"], values["phrase"]
    week = {"date_from": today + timedelta(days=14), "date_to": today + timedelta(days=20)}
    combined = {"category": "music", "city": city, **week}
    searches: list[tuple[str, SearchFilters, int]] = [
        ("search default (date)", SearchFilters(), 1),
        ("search default, page 5", SearchFilters(), 5),
        ("search category=music", SearchFilters(category="music"), 1),
        (f"search city={city.slug}", SearchFilters(city=city), 1),
        ("search from/to (one week)", SearchFilters(**week), 1),
        ("search when=today", SearchFilters(date_from=today, date_to=today), 1),
        (f"search q={word!r} (relevance)", SearchFilters(q=word, sort="relevance"), 1),
        (f"search q={phrase!r} (relevance)", SearchFilters(q=phrase, sort="relevance"), 1),
        ("search category+city+dates", SearchFilters(**combined), 1),
        (
            f"search q={word!r}+category+city+dates",
            SearchFilters(q=word, sort="relevance", **combined),
            1,
        ),
        ("search sort=newest", SearchFilters(sort="newest"), 1),
        ("search sort=price", SearchFilters(sort="price"), 1),
        ("search sort=price, page 5", SearchFilters(sort="price"), 5),
        ("search category=music sort=price", SearchFilters(category="music", sort="price"), 1),
        (f"search city={city.slug} sort=newest", SearchFilters(city=city, sort="newest"), 1),
        (f"search q={word!r} sort=date", SearchFilters(q=word, sort="date"), 1),
    ]
    per_file = SITEMAP_EVENTS_PER_FILE
    last_file = max(1, -(-values["upcoming_count"] // per_file))
    found: list[tuple[str, Callable[[], object]]] = [
        ("home: upcoming", execute(q.build_upcoming_events(now, config["HOME_UPCOMING_LIMIT"]))),
        ("home: category counts", execute(q.build_category_counts(now))),
        ("home: cities with upcoming events", execute(q.build_top_cities(now))),
        ("all cities", execute(q.build_all_cities())),
    ]
    for name, filters, page in searches:
        count = execute(sq.build_search_count(filters, now))
        if filters.q and filters.sort == "relevance":
            # search_events counts in the page query; the count query is its fallback when
            # the page comes back empty.
            with_total = sq.build_search_page(filters, now, page, per_page, with_total=True)
            found.append((f"{name}: page+total", execute(with_total)))
            found.append((f"{name}: count (if empty)", count))
            continue
        if page == 1:  # the count doesn't depend on the page or the sort
            found.append((f"{name}: count", count))
        found.append((f"{name}: page", execute(sq.build_search_page(filters, now, page, per_page))))
    reviewed = values["reviewed_id"]
    found += [
        ("detail: event, images, rating", execute(q.build_event_page(values["upcoming_slug"]))),
        ("detail: past event, reviewed", execute(q.build_event_page(values["reviewed_slug"]))),
        ("detail: reviews page 1", execute(q.build_reviews_page(reviewed, 1, reviews_per_page))),
        ("detail: reviews page 2", execute(q.build_reviews_page(reviewed, 2, reviews_per_page))),
        ("sitemap: count upcoming", execute(q.build_count_upcoming(now))),
        ("sitemap: events file 1", execute(q.build_sitemap_event_rows(now, 1, per_file))),
        (
            f"sitemap: events file {last_file}",
            execute(q.build_sitemap_event_rows(now, last_file, per_file)),
        ),
    ]
    return found


def report(results: list[Result], summary_only: bool) -> None:
    if not summary_only:
        for result in results:
            print(f"=== {result.name}\n{result.statement}\n")
            print("\n".join("    " + line for line in result.plan.splitlines()) + "\n")
    width = max(len(result.name) for result in results)
    print(f"{'query':<{width}}  {'plan ms':>7}  {'run ms':>6}  {'flags':<12}  plan: top nodes > …")
    for result in results:
        flags = ("SEQSCAN " if result.seq_scan_events else "") + ("SLOW" if result.slow else "")
        nodes = " > ".join(result.top_nodes)
        print(
            f"{result.name:<{width}}  {result.ms:7.2f}  {result.run_ms:6.2f}  {flags or 'ok':<12}  "
            f"{nodes}"
        )
    seq = [r.name for r in results if r.seq_scan_events]
    slow = [r.name for r in results if r.slow]
    print(
        f"\n{len(results)} statements; slowest plan {max(r.ms for r in results):.2f} ms, "
        f"slowest run {max(r.run_ms for r in results):.2f} ms; {len(slow)} over "
        f"{SLOW_MS:.0f} ms; {len(seq)} with a Seq Scan on events."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--summary", action="store_true", help="only the summary table")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            print("explain_queries.py needs DATABASE_URL pointing at PostgreSQL.", file=sys.stderr)
            return 2
        now = datetime.now(UTC)
        values = sample_values(now)
        found = cases(now, values, app.config)
        results = [result for name, run in found for result in explain(name, run)]
        db.session.rollback()
    report(results, args.summary)
    return 1 if any(result.seq_scan_events for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
