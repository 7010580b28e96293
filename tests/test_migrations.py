"""Migrations build the schema from nothing on both databases, and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from config import TestConfig
from eventmate import create_app
from eventmate.extensions import db
from eventmate.models.search import include_object
from tests.conftest import fresh_database


@pytest.fixture
def empty_database(app):
    with fresh_database(app) as url:
        yield url


@pytest.fixture
def fresh_app(empty_database, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", empty_database)
    app = create_app(TestConfig, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_upgrade_from_empty_creates_every_table_and_index(fresh_app):
    upgrade()
    inspector = inspect(db.engine)
    assert set(inspector.get_table_names()) >= {
        "users",
        "cities",
        "events",
        "event_images",
        "reviews",
        "bookings",
        "alembic_version",
    }
    event_indexes = {index["name"] for index in inspector.get_indexes("events")}
    assert event_indexes >= {
        "ix_events_category_active",
        "ix_events_start_active",
        "ix_events_city_active",
        "ix_events_active_start_city",
        "ix_events_slug",
        "ix_events_host_active",
    }
    booking_indexes = {index["name"] for index in inspector.get_indexes("bookings")}
    assert booking_indexes >= {"ix_bookings_user_status", "ix_bookings_event_status"}
    if db.engine.dialect.name == "postgresql":
        assert "ix_events_search_vector" in event_indexes
        columns = {column["name"] for column in inspector.get_columns("events")}
        assert "search_vector" in columns


def test_models_and_migrations_do_not_drift(fresh_app):
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": include_object},
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_to_empty_and_back(fresh_app):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert "events" in inspect(db.engine).get_table_names()


def test_events_made_before_drafts_existed_stay_published_and_drafts_stay_hidden_going_back(
    fresh_app,
):
    """0008_event_drafts: every existing event was on the site, published when it was made;
    going back, a draft is kept but hidden (without the column it would be listed at once)."""
    upgrade(revision="0007_host_onboarding")
    moment = "2030-05-01 10:00:00+00:00"
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO cities (id, name, slug, country, timezone)"
            " VALUES (1, 'Lisbon', 'lisbon', 'Portugal', 'Europe/Lisbon');"
        ))  # fmt: skip
        connection.execute(text(
            "INSERT INTO users (id, email, display_name, password_hash, is_host, is_admin,"
            " is_active, created_at) VALUES (1, 'h@example.com', 'H', 'x', true, false, true, :at)"
        ), {"at": moment})  # fmt: skip
        for number in (1, 2):
            connection.execute(text(
                "INSERT INTO events (id, slug, title, description, category, city_id, host_id,"
                " venue_name, venue_address, starts_at, ends_at, capacity, seats_booked, price,"
                " currency, max_per_booking, is_active, created_at, updated_at) VALUES (:id,"
                " :slug, 'Fado', '', 'music', 1, 1, 'Hall', '', :at, :at, 10, 0, 0, 'EUR', 4,"
                " true, :at, :at)"
            ), {"id": number, "slug": f"fado-{number}", "at": moment})  # fmt: skip
    upgrade()
    published = "SELECT id FROM events WHERE published_at = created_at ORDER BY id"
    with db.engine.begin() as connection:
        assert list(connection.scalars(text(published))) == [1, 2]
        connection.execute(text("UPDATE events SET published_at = NULL WHERE id = 2"))
    downgrade(revision="0007_host_onboarding")
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, is_active FROM events ORDER BY id")).all()
    assert [(row.id, bool(row.is_active)) for row in rows] == [(1, True), (2, False)]
