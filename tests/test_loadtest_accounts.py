"""The load test's accounts (loadtest/accounts.py) are made outside the app: the `flask` CLI
has no command that hands real hosts' listings to load-test accounts, and the tool opens only
the database in LOADTEST_DATABASE_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from eventmate.auth.services import authenticate
from eventmate.extensions import db
from eventmate.models import Event, User
from loadtest.accounts import ensure_accounts, host_email, member_email
from tests.conftest import app_for_database, fresh_database
from tests.factories import make_event, make_user, now

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "load test password 0f the day"


def test_the_apps_flask_cli_has_no_loadtest_command(runner):
    listing = runner.invoke(args=["--help"]).output
    assert "users     Manage user accounts." in listing
    assert "loadtest" not in listing
    result = runner.invoke(args=["loadtest", "accounts", "--members", "1"])
    assert result.exit_code == 2
    assert "No such command 'loadtest'" in result.output


def test_accounts_can_log_in_and_hosts_get_listings(db_session):
    for _ in range(4):
        make_event(starts_at=now() + timedelta(days=120))
    db_session.commit()

    result = ensure_accounts(2, 1, PASSWORD, 3, datetime.now(UTC))

    assert (result.created, result.updated, result.events_assigned) == (3, 0, 3)
    assert authenticate(member_email(1), PASSWORD) is not None
    host = authenticate(host_email(1), PASSWORD)
    assert host is not None
    assert host.is_host
    owned = select(func.count()).select_from(Event).where(Event.host_id == host.id)
    assert db.session.scalar(owned) == 3
    again = ensure_accounts(2, 1, PASSWORD, 3, datetime.now(UTC))  # idempotent
    assert (again.created, again.updated, again.events_assigned) == (0, 3, 0)
    emails = select(func.count()).select_from(User).where(User.email.like("loadtest-%"))
    assert db.session.scalar(emails) == 3


def run_tool(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "LOADTEST_"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "loadtest.accounts", *args],
        cwd=ROOT, env={**clean, "EVENTMATE_CONFIG": "default", **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def loadtest_database(app, tmp_path):
    """A migrated database of the test run's kind with a host's upcoming events."""
    with fresh_database(app) as url, app_for_database(url, str(tmp_path / "seed")) as other:
        with other.app_context():
            upgrade()
            owner = make_user(is_host=True, email="real-host@example.com")
            for _ in range(3):
                make_event(host=owner, starts_at=now() + timedelta(days=60))
            db.session.commit()
            db.session.remove()
        yield url, other


def test_the_tool_runs_against_the_load_test_database(loadtest_database, tmp_path):
    url, other = loadtest_database
    env = {
        "LOADTEST_DATABASE_URL": url,
        "LT_PASSWORD": PASSWORD,
        "EVENTMATE_INSTANCE_PATH": str(tmp_path / "tool"),
    }
    args = ["--members", "2", "--hosts", "1", "--events-per-host", "2", "--password-env",
            "LT_PASSWORD"]  # fmt: skip

    result = run_tool(env, *args)

    assert result.returncode == 0, result.stderr
    assert "Load-test accounts: 2 members, 1 hosts (3 created, 0 reset); 2 listings" in (
        result.stdout
    )
    with other.app_context():
        host = authenticate(host_email(1), PASSWORD)
        assert host is not None
        assert authenticate(member_email(2), PASSWORD) is not None
        owned = select(func.count()).select_from(Event).where(Event.host_id == host.id)
        assert db.session.scalar(owned) == 2
        db.session.remove()


def test_the_tool_refuses_without_the_load_test_database(loadtest_database, tmp_path):
    url, other = loadtest_database
    env = {"DATABASE_URL": url, "LT_PASSWORD": PASSWORD,
           "EVENTMATE_INSTANCE_PATH": str(tmp_path / "tool")}  # fmt: skip

    result = run_tool(env, "--hosts", "1", "--password-env", "LT_PASSWORD")

    assert result.returncode == 2
    assert "Set $LOADTEST_DATABASE_URL to the load-test database" in result.stderr
    with other.app_context():
        hosts = db.session.scalars(select(User.email).where(User.is_host)).all()
        assert hosts == ["real-host@example.com"]  # nothing made, nothing handed over
        db.session.remove()
