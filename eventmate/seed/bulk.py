"""`flask seed bulk`: a large, realistic, deterministic data set for load tests and EXPLAIN.

Rows are generated in Python with one seeded RNG. PostgreSQL gets them through streamed COPY,
with secondary indexes and foreign keys built after the load (100k events with 1M bookings in
about 40 s); other databases through batched INSERTs. Ids are assigned here, so bookings can
name their event and seats_booked can be set to the sum of confirmed bookings before the
events are written.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from sqlalchemy import Connection, Table, insert, select, text

from eventmate.auth.services import hash_password
from eventmate.extensions import db
from eventmate.models import Booking, City, Event, Review, User
from eventmate.seed import generate, postgres
from eventmate.seed.generate import CAPACITIES, CATEGORY_SLUGS

INSERT_BATCH = 5_000
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


def ensure_empty() -> None:
    """Raise DatabaseNotEmpty if a table the seed writes has rows: its ids start at 1."""
    for model in (Event, User, City, Booking, Review):
        if db.session.scalar(select(model.id).limit(1)) is not None:
            raise DatabaseNotEmpty(
                f"the database already has {model.__tablename__}; seed bulk needs an empty one"
            )


def seed_bulk(
    plan: BulkPlan, advance: Callable[[int], None] = lambda n: None, now: datetime | None = None
) -> dict[str, int]:
    """Write the whole data set in one transaction. Refuses a database that has data."""
    ensure_empty()
    rng = random.Random(plan.seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    connection = db.session.connection()
    write = _writer_for(connection, advance)

    with _indexes_deferred(connection):
        cities = generate.city_rows(plan.cities)
        write(
            City.__table__,
            ["id", "name", "slug", "country", "timezone"],
            [
                (i, c["name"], c["slug"], c["country"], c["timezone"])
                for i, c in enumerate(cities, 1)
            ],
        )
        write(User.__table__, USER_COLUMNS, _users(rng, plan, now))
        # Bookings decide each event's seats_booked, so they are drawn before events are written.
        events = _events(rng, plan, cities, now)
        bookings = list(_bookings(rng, plan, events, now))
        write(Event.__table__, EVENT_COLUMNS, events)
        write(Booking.__table__, BOOKING_COLUMNS, bookings)
        del bookings
        reviews = list(_reviews(rng, plan, events, now))
        write(Review.__table__, REVIEW_COLUMNS, reviews)

    if connection.dialect.name == "postgresql":
        postgres.reset_sequences(connection, LOADED_TABLES)
    db.session.commit()
    return {
        "cities": plan.cities,
        "users": plan.hosts + plan.guests,
        "events": plan.events,
        "bookings": plan.bookings,
        "reviews": len(reviews),
    }


def analyze() -> None:
    """Refresh planner statistics and the visibility map, so the first queries use the indexes."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # SKIP_LOCKED: when the seed ran inside a still-open outer transaction (as in the
            # tests) its tables stay locked; waiting on them would wait forever.
            connection.execute(text("VACUUM (ANALYZE, SKIP_LOCKED)"))
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
    "email_verified_at",
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
    "published_at",
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
    # One shared hash: hashing 55k passwords (20 ms each) would take most of the time budget.
    password_hash = hash_password(secrets.token_urlsafe(24))
    rows = []
    for user_id in range(1, plan.hosts + plan.guests + 1):
        is_host = user_id <= plan.hosts
        email = f"{'host' if is_host else 'guest'}{user_id}@bulk.eventmate.test"
        joined = now - timedelta(days=rng.randint(30, 900))
        rows.append(
            (
                user_id,
                email,
                generate.person_name(rng),
                password_hash,
                is_host,
                False,
                True,
                joined,
                joined,
            )  # verified when they joined
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
                created_at,  # published when created: the seed has no drafts
            ]
        )
    return rows


def _bookings(rng: random.Random, plan: BulkPlan, events: list[list], now: datetime):
    """Bookings that never oversell: a booking that would not fit is recorded as cancelled."""
    quantities, weights = QUANTITY_WEIGHTS
    # Accumulated once: choices() would redo it for each of the million draws (same results).
    cum_weights = list(accumulate(weights))
    first_guest = plan.hosts + 1
    last_user = plan.hosts + plan.guests
    for booking_id in range(1, plan.bookings + 1):
        event = events[rng.randrange(len(events))]
        quantity = rng.choices(quantities, cum_weights=cum_weights)[0]
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


# --- writers --------------------------------------------------------------------------------

LOADED_TABLES = ("cities", "users", "events", "bookings", "reviews")
Writer = Callable[[Table, list[str], Sequence[Sequence]], None]


def _writer_for(connection: Connection, advance: Callable[[int], None]) -> Writer:
    if connection.dialect.name == "postgresql":
        return lambda table, columns, rows: postgres.copy_rows(
            connection, table.name, columns, rows, advance
        )
    return lambda table, columns, rows: _insert(connection, table, columns, rows, advance)


def _indexes_deferred(connection: Connection) -> AbstractContextManager:
    if connection.dialect.name == "postgresql":
        return postgres.indexes_deferred(connection, LOADED_TABLES)
    return nullcontext()


def _insert(
    connection: Connection,
    table: Table,
    columns: list[str],
    rows: Sequence[Sequence],
    advance: Callable[[int], None],
) -> None:
    for start in range(0, len(rows), INSERT_BATCH):
        batch = [dict(zip(columns, row, strict=True)) for row in rows[start : start + INSERT_BATCH]]
        connection.execute(insert(table), batch)
        advance(len(batch))
