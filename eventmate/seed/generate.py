"""Deterministic builders for realistic rows, shared by the demo and bulk seeders."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from slugify import slugify

from eventmate.models import CATEGORIES
from eventmate.seed import vocabulary as v

CATEGORY_SLUGS = [category.slug for category in CATEGORIES]
CAPACITIES = [12, 20, 30, 50, 80, 120, 200, 350, 500, 1000]
CURRENCY_BY_CITY = {name: currency for name, _country, _zone, currency in v.CITIES}


def city_rows(count: int) -> list[dict]:
    """`count` cities: the real list first, then districts of it."""
    rows = []
    for index in range(count):
        name, country, zone, _currency = v.CITIES[index % len(v.CITIES)]
        district = index // len(v.CITIES)
        if district:
            name = f"{name} {v.DISTRICTS[(district - 1) % len(v.DISTRICTS)]}"
            if district > len(v.DISTRICTS):
                name += f" {district}"
        rows.append({"name": name, "slug": slugify(name), "country": country, "timezone": zone})
    return rows


def currency_for(city_index: int) -> str:
    return v.CITIES[city_index % len(v.CITIES)][3]


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(v.FIRST_NAMES)} {rng.choice(v.LAST_NAMES)}"


def event_title(rng: random.Random, category: str, city_name: str) -> str:
    adjectives, nouns = v.TITLE_PARTS[category]
    title = f"{rng.choice(adjectives)} {rng.choice(nouns)}"
    return f"{title} in {city_name}" if rng.random() < 0.4 else title


def event_description(rng: random.Random, title: str, venue: str) -> str:
    first = f"{title} at {venue}. {rng.choice(v.OPENERS)}"
    middle = " ".join(rng.sample(v.MIDDLES, 2))
    return f"{first}\n\n{middle}\n\n{rng.choice(v.CLOSERS)}"


def event_slug(title: str, number: int) -> str:
    """Readable and unique: the title's slug and a base-36 suffix that never changes."""
    return f"{slugify(title, max_length=100, word_boundary=True)}-{to_base36(number)}"


def to_base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if not number:
            return text


def venue(rng: random.Random) -> tuple[str, str]:
    return rng.choice(v.VENUES), f"{rng.randint(1, 240)} {rng.choice(v.STREETS)}"


def price(rng: random.Random) -> Decimal:
    if rng.random() < 0.3:
        return Decimal("0.00")
    return Decimal(rng.choice([5, 8, 10, 12, 15, 18, 20, 25, 30, 35, 45, 60, 85, 120])).quantize(
        Decimal("0.01")
    )


def start_time(rng: random.Random, now: datetime, days_before: int, days_after: int) -> datetime:
    """A start on a quarter hour, spread between `days_before` ago and `days_after` ahead."""
    offset = rng.uniform(-days_before * 86400, days_after * 86400)
    start = now + timedelta(seconds=offset)
    return start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)


LOCAL_START_HOURS = [9, 10, 11, 12, 14, 16, 17, 18, 18, 19, 19, 19, 20, 20, 21]


def local_start_time(
    rng: random.Random, now: datetime, days_before: int, days_after: int, zone: str
) -> datetime:
    """A start at a plausible local hour (09:00–21:30 in the city), returned in UTC."""
    day = (now + timedelta(days=rng.randint(-days_before, days_after))).astimezone(ZoneInfo(zone))
    local = datetime.combine(
        day.date(), time(rng.choice(LOCAL_START_HOURS), rng.choice([0, 0, 30])), ZoneInfo(zone)
    )
    return local.astimezone(UTC)


def duration(rng: random.Random) -> timedelta:
    return timedelta(minutes=rng.choice([60, 90, 120, 150, 180, 240, 360]))


def review_body(rng: random.Random, rating: int) -> str:
    return rng.choice(v.REVIEW_LINES[rating])


def review_rating(rng: random.Random) -> int:
    return rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 13, 7, 5])[0]
