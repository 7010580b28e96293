from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from config import TestConfig
from eventmate import create_app
from eventmate.extensions import db
from eventmate.models import Booking, City, Event, Review, User


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def seats_match_confirmed_bookings() -> bool:
    confirmed = (
        select(Booking.event_id, func.sum(Booking.quantity).label("seats"))
        .where(Booking.status == "confirmed")
        .group_by(Booking.event_id)
        .subquery()
    )
    mismatched = db.session.scalar(
        select(func.count())
        .select_from(Event)
        .outerjoin(confirmed, confirmed.c.event_id == Event.id)
        .where(
            (Event.seats_booked != func.coalesce(confirmed.c.seats, 0))
            | (Event.seats_booked > Event.capacity)
        )
    )
    return mismatched == 0


SEED_MOMENTS = {
    "sunday-afternoon": datetime(2026, 12, 6, 15, tzinfo=UTC),
    "sunday-late-evening": datetime(2026, 12, 6, 23, 30, tzinfo=UTC),
    "new-years-eve": datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    "london-fall-back": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 01:30 GMT, second pass
    "new-york-spring-forward": datetime(2026, 3, 8, 7, tzinfo=UTC),  # 03:00 EDT, just jumped
}


@pytest.mark.parametrize("moment", SEED_MOMENTS.values(), ids=SEED_MOMENTS)
def test_seed_demo_loads_a_pleasant_data_set(runner, db_session, clock, moment):
    clock(moment)
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    assert "Loaded demo data" in result.output
    assert count(City) == 12
    assert count(Event) == 60
    assert seats_match_confirmed_bookings()
    events = db.session.scalars(select(Event)).all()
    assert sum(event.starts_at > moment for event in events) == 48  # upcoming
    assert sum(event.ends_at < moment for event in events) == 12  # over, so reviewable
    reviews = db.session.scalars(select(Review)).all()
    assert reviews
    assert all(review.event.ends_at < review.created_at <= moment for review in reviews)
    assert all(event.created_at < min(moment, event.starts_at) for event in events)


def test_seed_demo_if_empty_leaves_existing_data_alone(runner, db_session):
    runner.invoke(args=["seed", "demo"])
    result = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert result.exit_code == 0
    assert "already has events" in result.output
    assert count(Event) == 60


def test_seed_demo_refuses_a_database_with_events(runner, db_session):
    runner.invoke(args=["seed", "demo"])
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code != 0
    assert count(Event) == 60


def test_seed_bulk_small_is_consistent(runner, db_session):
    result = runner.invoke(args=["seed", "bulk", "--events", "400", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "Seeded" in result.output
    assert " s." in result.output.splitlines()[-1]
    assert count(Event) == 400
    assert count(Booking) == 4000
    assert count(Review) > 0
    assert seats_match_confirmed_bookings()
    duplicate_reviews = db.session.scalar(
        select(func.count()).select_from(
            select(Review.event_id, Review.user_id)
            .group_by(Review.event_id, Review.user_id)
            .having(func.count() > 1)
            .subquery()
        )
    )
    assert duplicate_reviews == 0


def test_seed_bulk_is_deterministic(tmp_path, monkeypatch):
    """Same seed, same data: seed two fresh databases and compare them."""
    slugs = []
    for name in ("one", "two"):
        monkeypatch.setenv("TEST_DATABASE_URL", f"sqlite:///{tmp_path}/{name}.db")
        app = create_app(TestConfig, instance_path=str(tmp_path / name))
        with app.app_context():
            upgrade()
            result = app.test_cli_runner().invoke(
                args=["seed", "bulk", "--events", "50", "--seed", "3"]
            )
            assert result.exit_code == 0, result.output
            slugs.append(db.session.scalars(select(Event.slug).order_by(Event.id)).all())
            db.engine.dispose()
    assert len(slugs[0]) == 50
    assert slugs[0] == slugs[1]


def test_seed_bulk_refuses_a_database_with_events(runner, db_session):
    runner.invoke(args=["seed", "demo"])
    result = runner.invoke(args=["seed", "bulk", "--events", "10"])
    assert result.exit_code != 0
    assert "already has events" in result.output


def test_users_create_prompts_for_a_password(runner, db_session):
    result = runner.invoke(
        args=["users", "create", "Host@Example.com", "--host"],
        input="a-long-password\na-long-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created host@example.com (host)." in result.output
    user = db.session.scalar(select(User).where(User.email == "host@example.com"))
    assert user.is_host
    assert not user.is_admin
    assert user.password_hash.startswith("$argon2id$")
    assert user.is_verified  # an admin made it: no link to follow


def test_users_create_admin_is_also_a_host(runner, db_session):
    result = runner.invoke(
        args=["users", "create", "boss@example.com", "--admin", "--password", "a-long-password"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "boss@example.com"))
    assert user.is_admin
    assert user.is_host


def test_users_create_rejects_a_duplicate_email_in_any_case(runner, db_session):
    runner.invoke(args=["users", "create", "ada@example.com", "--password", "a-long-password"])
    result = runner.invoke(
        args=["users", "create", "ADA@example.com", "--password", "a-long-password"]
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert count(User) == 1


def test_users_create_rejects_a_malformed_email(runner, db_session):
    result = runner.invoke(
        args=["users", "create", "not-an-email", "--password", "a-long-password"]
    )
    assert result.exit_code != 0
    assert "not a valid email address" in result.output
    assert count(User) == 0


def test_users_create_rejects_a_short_password(runner, db_session):
    result = runner.invoke(args=["users", "create", "ada@example.com", "--password", "short"])
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output


def test_users_promote_and_deactivate(runner, db_session):
    from tests.factories import make_user

    make_user(email="ada@example.com")
    db_session.commit()
    assert runner.invoke(args=["users", "promote", "ada@example.com"]).exit_code != 0
    result = runner.invoke(args=["users", "promote", "ADA@example.com", "--host"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
    assert (user.is_host, user.is_admin) == (True, False)
    runner.invoke(args=["users", "promote", "ada@example.com", "--admin"])
    assert user.is_admin
    result = runner.invoke(args=["users", "deactivate", "ada@example.com"])
    assert result.exit_code == 0
    assert "Deactivated ada@example.com." in result.output
    assert user.is_active is False
    result = runner.invoke(args=["users", "reactivate", "ADA@example.com"])
    assert result.exit_code == 0, result.output
    assert "Reactivated ada@example.com." in result.output
    assert user.is_active is True
    for command in ("deactivate", "reactivate"):
        missing = runner.invoke(args=["users", command, "Nobody@example.com"])
        assert missing.exit_code != 0
        assert "no account for nobody@example.com" in missing.output


def test_events_suspend_and_unsuspend(runner, db_session):
    from tests.factories import make_event

    event = make_event(slug="to-hide", title="Harbour Jazz Night")
    db_session.commit()
    result = runner.invoke(args=["events", "suspend", "to-hide", "--reason", "  Fake   venue. "])
    assert result.exit_code == 0, result.output
    assert "Suspended to-hide (Harbour Jazz Night): Fake venue." in result.output
    db.session.expire_all()
    assert (event.suspension_reason, event.is_active) == ("Fake venue.", True)
    assert not event.is_listed
    first = event.suspended_at
    assert first is not None
    again = runner.invoke(args=["events", "suspend", "to-hide", "--reason", "Fake venue, again."])
    assert again.exit_code == 0, again.output
    db.session.expire_all()
    assert (event.suspended_at, event.suspension_reason) == (first, "Fake venue, again.")

    result = runner.invoke(args=["events", "unsuspend", "to-hide"])
    assert result.exit_code == 0, result.output
    assert "to-hide (Harbour Jazz Night) is listed again." in result.output
    db.session.expire_all()
    assert (event.suspended_at, event.is_listed) == (None, True)
    not_suspended = runner.invoke(args=["events", "unsuspend", "to-hide"])
    assert not_suspended.exit_code != 0
    assert "to-hide is not suspended." in not_suspended.output


def test_events_suspend_needs_a_short_reason_and_a_known_event(runner, db_session):
    from tests.factories import make_event

    event = make_event(slug="to-hide")
    db_session.commit()
    missing = runner.invoke(args=["events", "suspend", "to-hide"])
    assert missing.exit_code == 2
    assert "Missing option '--reason'" in missing.output
    blank = runner.invoke(args=["events", "suspend", "to-hide", "--reason", "   "])
    assert blank.exit_code == 2
    assert "Give a reason" in blank.output
    long = runner.invoke(args=["events", "suspend", "to-hide", "--reason", "x" * 201])
    assert long.exit_code == 2
    assert "200 characters" in long.output
    db.session.expire_all()
    assert event.suspended_at is None
    unknown = runner.invoke(args=["events", "suspend", "nope", "--reason", "Spam."])
    assert unknown.exit_code == 1
    assert "There is no event with the slug 'nope'." in unknown.output
    assert runner.invoke(args=["events", "unsuspend", "nope"]).exit_code == 1


def test_unsuspending_a_hidden_event_leaves_it_hidden(runner, db_session):
    from tests.factories import make_event

    event = make_event(slug="hidden", is_active=False)
    db_session.commit()
    runner.invoke(args=["events", "suspend", "hidden", "--reason", "Spam."])
    result = runner.invoke(args=["events", "unsuspend", "hidden"])
    assert result.exit_code == 0, result.output
    assert "no longer suspended, still not listed" in result.output
    db.session.expire_all()
    assert (event.suspended_at, event.is_listed) == (None, False)


def test_bookings_export_to_stdout_and_file(runner, db_session, tmp_path):
    from tests.factories import make_booking, make_event, make_user

    event = make_event(slug="exported")
    make_booking(event, user=make_user(display_name="Ann"), quantity=3, reference="EXPO-RT01")
    make_booking(event, status="cancelled")
    db_session.commit()

    result = runner.invoke(args=["bookings", "export", "--event", "exported"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "reference,name,email,seats,booked_at_utc"
    assert len(lines) == 2
    assert lines[1].startswith("EXPO-RT01,Ann,")

    target = tmp_path / "out.csv"
    result = runner.invoke(args=["bookings", "export", "--event", "exported", "-o", str(target)])
    assert result.exit_code == 0
    assert target.read_text().splitlines()[1].startswith("EXPO-RT01,Ann,")

