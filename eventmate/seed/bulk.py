"""`flask seed bulk`: a large, realistic, deterministic data set for load tests and EXPLAIN.

Rows are generated in Python with one seeded RNG and written in chunks: PostgreSQL gets them
through COPY (100k events with 1M bookings in about a minute), other databases through batched
INSERTs. Ids are assigned here, so bookings can name their event and seats_booked can be set
to the sum of confirmed bookings before the events are written.
"""

from __future__ import annotations

import csv
import io
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, func, insert, select, text

from eventmate.auth.services import hash_password
from eventmate.extensions import db
from eventmate.models import Booking, City, Event, Review, User
from eventmate.seed import generate
from eventmate.seed.generate import CAPACITIES, CATEGORY_SLUGS

CHUNK_ROWS = 50_000
QUANTITY_WEIGHTS = ([1, 2, 3, 4, 6], [45, 30, 12, 9, 4])
CANCELLED_SHARE = 0.08
INACTIVE_SHARE = 0.03


@dataclass(frozen=True)
class BulkPlan:
    events: int = 100_000
    cities: int = 200
    hosts: int = 5_000
    guests: int = 50_000
    bookings: int = 1_000_000
    reviews: int = 300_000
    seed: int = 1

    @classmethod
    def scaled(cls, events: int, seed: int = 1) -> BulkPlan:
        """The default proportions for any number of events (100k → the full data set)."""
        ratio = events / cls.events
        return cls(
            events=events,
            cities=max(5, min(cls.cities, round(cls.cities * ratio**0.5))),
            hosts=max(3, round(cls.hosts * ratio)),
            guests=max(20, round(cls.guests * ratio)),
            bookings=round(cls.bookings * ratio),
            reviews=round(cls.reviews * ratio),
            seed=seed,
        )

    @property
    def total_rows(self) -> int:
        return self.cities + self.hosts + self.guests + self.events + self.bookings + self.reviews


class DatabaseNotEmpty(RuntimeError):
    pass


def existing_events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


def seed_bulk(
    plan: BulkPlan, advance: Callable[[int], None] = lambda n: None, now: datetime | None = None
) -> dict[str, int]:
    """Write the whole data set in one transaction. Refuses a database that has events."""
    if existing_events():
        raise DatabaseNotEmpty("the database already has events; seed bulk needs an empty one")
    rng = random.Random(plan.seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    writer = _writer_for(db.session.connection())

    cities = generate.city_rows(plan.cities)
    writer(
        City.__table__,
        ["id", "name", "slug", "country", "timezone"],
        [(i, c["name"], c["slug"], c["country"], c["timezone"]) for i, c in enumerate(cities, 1)],
    )
    advance(plan.cities)

    user_count = plan.hosts + plan.guests
    writer(User.__table__, USER_COLUMNS, _users(rng, plan, now))
    advance(user_count)

    events = _events(rng, plan, cities, now)
    bookings = list(_bookings(rng, plan, events, now))
    writer(Event.__table__, EVENT_COLUMNS, events)
    advance(plan.events)
    for start in range(0, len(bookings), CHUNK_ROWS):
        writer(Booking.__table__, BOOKING_COLUMNS, bookings[start : start + CHUNK_ROWS])
        advance(min(CHUNK_ROWS, len(bookings) - start))
    del bookings

    review_count = 0
    for chunk in _chunks(_reviews(rng, plan, events, now), CHUNK_ROWS):
        writer(Review.__table__, REVIEW_COLUMNS, chunk)
        review_count += len(chunk)
        advance(len(chunk))

    _reset_sequences(db.session.connection())
    db.session.commit()
    return {
        "cities": plan.cities,
        "users": user_count,
        "events": plan.events,
        "bookings": plan.bookings,
        "reviews": review_count,
    }


def analyze() -> None:
    """Refresh planner statistics and the visibility map, so the first queries use the indexes."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        # SQLite allows one writer: use the session's connection rather than a second one.
        db.session.execute(text("ANALYZE"))
        db.session.commit()


# --- rows -----------------------------------------------------------------------------------

USER_COLUMNS = [
    "id",
    "email",
    "display_name",
    "password_hash",
    "is_host",
    "is_admin",
    "is_active",
    "created_at",
]
EVENT_COLUMNS = [
    "id",
    "slug",
    "title",
    "description",
    "category",
    "city_id",
    "host_id",
    "venue_name",
    "venue_address",
    "starts_at",
    "ends_at",
    "capacity",
    "seats_booked",
    "price",
    "currency",
    "max_per_booking",
    "is_active",
    "created_at",
    "updated_at",
]
BOOKING_COLUMNS = [
    "id",
    "user_id",
    "event_id",
    "quantity",
    "status",
    "reference",
    "created_at",
    "cancelled_at",
]
REVIEW_COLUMNS = ["id", "event_id", "user_id", "rating", "body", "created_at"]
# Positions in an event row that later steps read or update.
E_ID, E_STARTS, E_ENDS, E_CAPACITY, E_SEATS, E_CREATED = 0, 9, 10, 11, 12, 17


def _users(rng: random.Random, plan: BulkPlan, now: datetime) -> list[tuple]:
    # One shared hash: hashing 55k passwords with scrypt would take most of the time budget.
    password_hash = hash_password(secrets.token_urlsafe(24))
    rows = []
    for user_id in range(1, plan.hosts + plan.guests + 1):
        is_host = user_id <= plan.hosts
        email = f"{'host' if is_host else 'guest'}{user_id}@bulk.eventmate.test"
        joined = now - timedelta(days=rng.randint(30, 900))
        rows.append(
            (user_id, email, generate.person_name(rng), password_hash, is_host, False, True, joined)
        )
    return rows


def _events(rng: random.Random, plan: BulkPlan, cities: list[dict], now: datetime) -> list[list]:
    rows = []
    for event_id in range(1, plan.events + 1):
        category = rng.choice(CATEGORY_SLUGS)
        city_index = rng.randrange(len(cities))
        title = generate.event_title(rng, category, cities[city_index]["name"])
        venue_name, address = generate.venue(rng)
        starts_at = generate.start_time(rng, now, 365, 365)
        created_at = min(now, starts_at) - timedelta(days=rng.randint(7, 120))
        rows.append(
            [
                event_id,
                generate.event_slug(title, event_id),
                title,
                generate.event_description(rng, title, venue_name),
                category,
                city_index + 1,
                rng.randint(1, plan.hosts),
                venue_name,
                address,
                starts_at,
                starts_at + generate.duration(rng),
                rng.choice(CAPACITIES),
                0,
                generate.price(rng),
                generate.currency_for(city_index),
                rng.choice([4, 6, 10, 10, 10]),
                rng.random() >= INACTIVE_SHARE,
                created_at,
                created_at,
            ]
        )
    return rows


def _bookings(rng: random.Random, plan: BulkPlan, events: list[list], now: datetime):
    """Bookings that never oversell: a booking that would not fit is recorded as cancelled."""
    quantities, weights = QUANTITY_WEIGHTS
    first_guest = plan.hosts + 1
    last_user = plan.hosts + plan.guests
    for booking_id in range(1, plan.bookings + 1):
        event = events[rng.randrange(len(events))]
        quantity = rng.choices(quantities, weights)[0]
        window = max(1, int((min(now, event[E_STARTS]) - event[E_CREATED]).total_seconds()))
        created_at = event[E_CREATED] + timedelta(seconds=rng.randrange(window))
        fits = event[E_SEATS] + quantity <= event[E_CAPACITY]
        if fits and rng.random() >= CANCELLED_SHARE:
            event[E_SEATS] += quantity
            status, cancelled_at = "confirmed", None
        else:
            status = "cancelled"
            cancelled_at = min(now, created_at + timedelta(hours=rng.randint(1, 96)))
        yield (
            booking_id,
            rng.randint(first_guest, last_user),
            event[E_ID],
            quantity,
            status,
            "S" + generate.to_base36(booking_id).upper().rjust(7, "0"),
            created_at,
            cancelled_at,
        )


def _reviews(rng: random.Random, plan: BulkPlan, events: list[list], now: datetime):
    """Reviews of past events, at most one per user and event."""
    past = [event for event in events if event[E_ENDS] < now]
    if not past:
        return
    seen: set[tuple[int, int]] = set()
    review_id = 0
    attempts = 0
    while review_id < plan.reviews and attempts < plan.reviews * 3:
        attempts += 1
        event = past[rng.randrange(len(past))]
        user_id = rng.randint(1, plan.hosts + plan.guests)
        if (event[E_ID], user_id) in seen:
            continue
        seen.add((event[E_ID], user_id))
        review_id += 1
        rating = generate.review_rating(rng)
        written = min(now, event[E_ENDS] + timedelta(hours=rng.randint(1, 240)))
        yield (review_id, event[E_ID], user_id, rating, generate.review_body(rng, rating), written)


def _chunks(rows: Iterable[tuple], size: int):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- writers --------------------------------------------------------------------------------

Writer = Callable[[Table, list[str], Sequence[Sequence]], None]


def _writer_for(connection) -> Writer:
    if connection.dialect.name == "postgresql":
        return lambda table, columns, rows: _copy(connection, table, columns, rows)
    return lambda table, columns, rows: _insert(connection, table, columns, rows)


def _copy(connection, table: Table, columns: list[str], rows: Sequence[Sequence]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    cursor = connection.connection.driver_connection.cursor()
    cursor.copy_expert(
        f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer
    )
    cursor.close()


def _insert(connection, table: Table, columns: list[str], rows: Sequence[Sequence]) -> None:
    for start in range(0, len(rows), 5_000):
        batch = [dict(zip(columns, row, strict=True)) for row in rows[start : start + 5_000]]
        connection.execute(insert(table), batch)


def _reset_sequences(connection) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the data."""
    if connection.dialect.name != "postgresql":
        return
    for table in ("cities", "users", "events", "bookings", "reviews"):
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        )
