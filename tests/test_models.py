"""The database enforces the invariants, on both databases."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from eventmate.extensions import db
from eventmate.models import Event
from tests.factories import make_booking, make_event, make_review, make_user, now


def assert_rejected(make):
    with db.session.begin_nested(), pytest.raises(IntegrityError):
        make()


@pytest.mark.parametrize(
    "fields",
    [
        {"capacity": -1},
        {"seats_booked": -1},
        {"capacity": 5, "seats_booked": 6},
        {"price": Decimal("-0.01")},
        {"max_per_booking": 0},
        {"category": "knitting"},
    ],
)
def test_event_constraints(db_session, fields):
    assert_rejected(lambda: make_event(**fields))


def test_event_cannot_end_before_it_starts(db_session):
    start = now() + timedelta(days=1)
    assert_rejected(lambda: make_event(starts_at=start, ends_at=start - timedelta(minutes=1)))


def test_event_slug_is_unique(db_session):
    make_event(slug="same")
    assert_rejected(lambda: make_event(slug="same"))


@pytest.mark.parametrize("rating", [0, 6])
def test_review_rating_is_one_to_five(db_session, rating):
    event = make_event()
    assert_rejected(lambda: make_review(event, rating=rating))


def test_one_review_per_user_and_event(db_session):
    event, user = make_event(), make_user()
    make_review(event, user=user)
    assert_rejected(lambda: make_review(event, user=user))


@pytest.mark.parametrize("quantity", [0, -1])
def test_booking_quantity_is_at_least_one(db_session, quantity):
    event = make_event()
    assert_rejected(lambda: make_booking(event, quantity=quantity))


def test_booking_status_is_known(db_session):
    event = make_event()
    assert_rejected(lambda: make_booking(event, status="pending"))


def test_email_is_unique_whatever_its_case(db_session):
    user = make_user(email="  Ada@Example.COM ")
    assert user.email == "ada@example.com"
    assert_rejected(lambda: make_user(email="ADA@example.com"))


def test_times_are_stored_and_returned_in_utc(db_session):
    from zoneinfo import ZoneInfo

    local = now().astimezone(ZoneInfo("America/New_York")) + timedelta(days=3)
    event = make_event(starts_at=local, ends_at=local + timedelta(hours=1))
    db_session.commit()
    db_session.expire_all()
    loaded = db.session.get(Event, event.id)
    assert loaded.starts_at == local
    assert loaded.starts_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db_session):
    from datetime import datetime

    with pytest.raises(Exception, match="naive datetime"):
        make_event(starts_at=datetime(2030, 1, 1, 12), ends_at=datetime(2030, 1, 1, 14))
