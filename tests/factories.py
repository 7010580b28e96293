"""Small builders for test rows: sensible defaults, override what the test is about."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from eventmate.extensions import db
from eventmate.models import Booking, City, Event, EventImage, Review, User

_numbers = itertools.count(1)


def now() -> datetime:
    return datetime.now(UTC)


def make_city(**fields) -> City:
    n = next(_numbers)
    values = {
        "name": f"City {n}",
        "slug": f"city-{n}",
        "country": "Testland",
        "timezone": "Europe/Berlin",
    }
    values.update(fields)
    city = City(**values)
    db.session.add(city)
    db.session.flush()
    return city


def make_user(**fields) -> User:
    n = next(_numbers)
    values = {
        "email": f"user{n}@example.com",
        "display_name": f"User {n}",
        "password_hash": "not-a-real-hash",
        "email_verified_at": now(),  # a member who followed the emailed link
    }
    values.update(fields)
    user = User(**values)
    db.session.add(user)
    db.session.flush()
    return user


def make_event(**fields) -> Event:
    n = next(_numbers)
    starts_at = fields.pop("starts_at", now() + timedelta(days=7))
    values = {
        "slug": f"event-{n}",
        "title": f"Event {n}",
        "description": "A friendly test event.",
        "category": "music",
        "venue_name": "Test Hall",
        "venue_address": "1 Test Street",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=2),
        "capacity": 100,
        "seats_booked": 0,
        "price": Decimal("10.00"),
        "currency": "EUR",
        "published_at": now(),  # on the site; a draft passes published_at=None
    }
    values.update(fields)
    if "city" not in values and "city_id" not in values:
        values["city"] = make_city()
    if "host" not in values and "host_id" not in values:
        values["host"] = make_user(is_host=True)
    event = Event(**values)
    db.session.add(event)
    db.session.flush()
    return event


def make_image(event: Event, **fields) -> EventImage:
    values = {"url": "/static/img/demo/music-1.svg", "alt_text": "Artwork", "position": 0}
    values.update(fields)
    image = EventImage(event=event, **values)
    db.session.add(image)
    db.session.flush()
    return image


def make_review(event: Event, **fields) -> Review:
    values = {"rating": 4, "body": "Lovely evening."}
    values.update(fields)
    if "user" not in values:
        values["user"] = make_user()
    review = Review(event=event, **values)
    db.session.add(review)
    db.session.flush()
    return review


def make_booking(event: Event, quantity: int = 1, **fields) -> Booking:
    n = next(_numbers)
    values = {"status": "confirmed", "reference": f"T{n:07d}"}
    values.update(fields)
    if "user" not in values:
        values["user"] = make_user()
    booking = Booking(event=event, quantity=quantity, **values)
    if booking.status == "confirmed":
        event.seats_booked += quantity
    db.session.add(booking)
    db.session.flush()
    return booking


def make_member(password: str = "correct horse battery staple", **fields) -> User:
    """A user who can log in with `password` (a real Argon2id hash: slower than make_user)."""
    from eventmate.auth.services import hash_password

    return make_user(password_hash=hash_password(password), **fields)


def unsaved_event_with_members(
    members: int, password: str = "correct horse battery staple", **event_fields
) -> tuple[Event, list[User]]:
    """An event three days ahead (with its own city and host) and `members` confirmed members
    who log in with `password`, added to no session: for the tests that commit them through a
    session of their own, so that a live server sees them. Names are tagged, so runs sharing a
    database don't collide."""
    from eventmate.auth.services import hash_password

    tag = uuid.uuid4().hex[:8]
    password_hash = hash_password(password)  # once: Argon2id is slow on purpose
    city = City(name=f"Race {tag}", slug=f"race-{tag}", country="Testland", timezone="UTC")
    host = User(email=f"host-{tag}@example.com", display_name="Host", password_hash="x")
    users = [
        User(email=f"m{n}-{tag}@example.com", display_name=f"Member {n}",
             password_hash=password_hash, email_verified_at=now())
        for n in range(members)
    ]  # fmt: skip
    starts = now() + timedelta(days=3)
    values = {
        "slug": f"race-{tag}", "title": "Race", "category": "music", "city": city, "host": host,
        "venue_name": "Hall", "starts_at": starts, "ends_at": starts + timedelta(hours=2),
        "capacity": 100, "seats_booked": 0, "max_per_booking": 10, "published_at": now(),
    }  # fmt: skip
    values.update(event_fields)
    return Event(**values), users
