"""`flask seed demo`: a small, pleasant data set for a first look at the site."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from eventmate.auth.services import hash_password
from eventmate.extensions import db
from eventmate.models import (
    BOOKING_CONFIRMED,
    Booking,
    City,
    Event,
    EventImage,
    Review,
    User,
)
from eventmate.seed import generate
from eventmate.seed.generate import CATEGORY_SLUGS

DEMO_CITY_NAMES = [
    "Amsterdam",
    "Berlin",
    "Barcelona",
    "Lisbon",
    "London",
    "New York",
    "Paris",
    "San Francisco",
    "Sydney",
    "Tokyo",
    "Toronto",
    "Vienna",
]
DEMO_EVENTS = 60
DEMO_PAST_EVENTS = 12


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Event))


def seed_demo(seed: int = 2026, now: datetime | None = None) -> dict[str, int]:
    """Add demo cities, hosts, guests, events, images, bookings and reviews; commit once."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    all_cities = {row["name"]: row for row in generate.city_rows(len(generate.v.CITIES))}
    cities = [City(**all_cities[name]) for name in DEMO_CITY_NAMES]
    # Demo accounts get unguessable passwords; use `flask users create` for one you can use.
    unusable = hash_password(secrets.token_urlsafe(24))
    hosts = [
        User(
            email=f"host{n}@demo.eventmate.test",
            display_name=generate.person_name(rng),
            password_hash=unusable,
            is_host=True,
            email_verified_at=now,
        )
        for n in range(1, 7)
    ]
    guests = [
        User(
            email=f"guest{n}@demo.eventmate.test",
            display_name=generate.person_name(rng),
            password_hash=unusable,
            email_verified_at=now,
        )
        for n in range(1, 31)
    ]
    db.session.add_all(cities + hosts + guests)

    events, titles = [], set()
    for number in range(1, DEMO_EVENTS + 1):
        past = number <= DEMO_PAST_EVENTS
        event = _demo_event(rng, number, now, past, cities, hosts)
        while event.title in titles:  # every demo event looks different
            event = _demo_event(rng, number, now, past, cities, hosts)
        titles.add(event.title)
        events.append(event)
    db.session.add_all(events)
    db.session.flush()

    bookings, reviews = _demo_activity(rng, events, guests, now)
    db.session.add_all(bookings + reviews)
    db.session.commit()
    return {
        "cities": len(cities),
        "users": len(hosts) + len(guests),
        "events": len(events),
        "bookings": len(bookings),
        "reviews": len(reviews),
    }


def _demo_event(rng, number, now, past, cities, hosts) -> Event:
    category = CATEGORY_SLUGS[number % len(CATEGORY_SLUGS)]
    city = cities[rng.randrange(len(cities))]
    title = generate.event_title(rng, category, city.name)
    venue_name, address = generate.venue(rng)
    if past:
        starts_at = generate.local_start_time(rng, now, 60, -2, city.timezone)
    else:
        starts_at = generate.local_start_time(rng, now, -1, 75, city.timezone)
    capacity = rng.choice([12, 20, 30, 50, 80, 120])
    event = Event(
        slug=generate.event_slug(title, number),
        title=title,
        description=generate.event_description(rng, title, venue_name),
        category=category,
        city=city,
        host=hosts[number % len(hosts)],
        venue_name=venue_name,
        venue_address=address,
        starts_at=starts_at,
        ends_at=starts_at + generate.duration(rng),
        capacity=capacity,
        seats_booked=0,
        price=generate.price(rng),
        currency=generate.CURRENCY_BY_CITY[city.name],
        max_per_booking=rng.choice([4, 6, 10]),
        created_at=min(now, starts_at) - timedelta(days=rng.randint(10, 60)),
    )
    event.published_at = event.created_at  # the demo has no drafts
    for position, variant in enumerate(rng.sample([1, 2], rng.choice([1, 2]))):
        event.images.append(
            EventImage(
                url=f"/static/img/demo/{category}-{variant}.svg",
                storage_id=f"demo/{category}-{variant}",
                position=position,
                alt_text=f"{event.category_info.name} artwork for {title}",
            )
        )
    return event


def _demo_activity(rng, events, guests, now):
    bookings, reviews = [], []
    for event in events:
        # A mix: some nearly empty, some nearly full, one in five sold out.
        target = event.capacity if rng.random() < 0.2 else rng.randint(0, event.capacity * 3 // 4)
        attendees = rng.sample(guests, k=min(len(guests), max(1, target // 2)))
        for guest in attendees:
            quantity = min(rng.randint(1, 3), target - event.seats_booked, event.max_per_booking)
            if quantity < 1:
                break
            event.seats_booked += quantity
            bookings.append(
                Booking(
                    user=guest,
                    event=event,
                    quantity=quantity,
                    status=BOOKING_CONFIRMED,
                    reference=f"DEMO{len(bookings) + 1:05d}",
                    created_at=event.created_at + timedelta(days=rng.randint(0, 9)),
                )
            )
            if event.ends_at < now and rng.random() < 0.7:
                rating = generate.review_rating(rng)
                reviews.append(
                    Review(
                        event=event,
                        user=guest,
                        rating=rating,
                        body=generate.review_body(rng, rating),
                        created_at=min(now, event.ends_at + timedelta(hours=rng.randint(2, 72))),
                    )
                )
    return bookings, reviews
