"""Migrations build the schema from nothing on both databases, and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

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
