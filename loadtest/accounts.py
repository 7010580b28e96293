"""Known-password accounts for the load test (the bulk seed's users have none).

    LOADTEST_DATABASE_URL=postgresql://…/eventmate_loadtest LOADTEST_PASSWORD=… \
        .venv/bin/python -m loadtest.accounts --members 600 --hosts 30

loadtest/run (dataset.prepare) runs it before each run. Members are
loadtest-member-N@example.com, hosts loadtest-host-N@example.com, all with the one password
read from an environment variable (never a command-line argument, which `ps` shows). Each
host is given upcoming listings taken from other hosts, so this is not a `flask` command and
not part of the app: it only ever opens the database named by LOADTEST_DATABASE_URL, never
the app's DATABASE_URL. Running it again resets the password and tops up what is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from eventmate import create_app
from eventmate.auth.services import AccountError, check_password, hash_password
from eventmate.extensions import db
from eventmate.models import Event, User

DATABASE_VARIABLE = "LOADTEST_DATABASE_URL"

# Listings handed to load-test hosts start at least this far ahead, so they stay upcoming (and
# editable from the dashboard's upcoming list) for many runs.
OWNED_EVENT_LEAD = timedelta(days=14)


def member_email(number: int) -> str:
    return f"loadtest-member-{number}@example.com"


def host_email(number: int) -> str:
    return f"loadtest-host-{number}@example.com"


@dataclass
class AccountsResult:
    created: int
    updated: int
    events_assigned: int


def ensure_accounts(
    members: int, hosts: int, password: str, events_per_host: int, now: datetime
) -> AccountsResult:
    """Create or reset the load-test accounts; give each host `events_per_host` upcoming
    listings taken from other hosts. One commit."""
    # One hash for all: the same password, and a hash costs ~20 ms of CPU.
    password_hash = hash_password(password)
    wanted = {member_email(n): False for n in range(1, members + 1)}
    wanted |= {host_email(n): True for n in range(1, hosts + 1)}
    existing = {
        user.email: user for user in db.session.scalars(select(User).where(User.email.in_(wanted)))
    }
    created = 0
    for email, is_host in wanted.items():
        user = existing.get(email)
        if user is None:
            name = email.split("@")[0].replace("-", " ").title()
            db.session.add(
                User(
                    email=email,
                    display_name=name,
                    password_hash=password_hash,
                    is_host=is_host,
                    is_admin=False,
                    is_active=True,
                    email_verified_at=datetime.now(UTC),
                )
            )
            created += 1
        else:
            user.password_hash = password_hash
            user.is_active = True
            user.is_host = user.is_host or is_host
    db.session.flush()
    # Active accounts' events are listed (Event.host_active), as `flask users reactivate` does.
    account_ids = select(User.id).where(User.email.in_(wanted))
    db.session.execute(
        update(Event)
        .where(Event.host_id.in_(account_ids), Event.host_active.is_(False))
        .values(host_active=True)
    )
    assigned = _assign_events(hosts, events_per_host, now) if events_per_host else 0
    db.session.commit()
    return AccountsResult(created, len(wanted) - created, assigned)


def _assign_events(hosts: int, per_host: int, now: datetime) -> int:
    host_ids = db.session.scalars(
        select(User.id).where(User.email.in_([host_email(n) for n in range(1, hosts + 1)]))
    ).all()
    soon = now + timedelta(days=1)
    owned = dict(
        db.session.execute(
            select(Event.host_id, func.count())
            .where(Event.host_id.in_(host_ids), Event.is_listed, Event.starts_at > soon)
            .group_by(Event.host_id)
        ).all()
    )
    missing = {host_id: per_host - owned.get(host_id, 0) for host_id in host_ids}
    needed = sum(n for n in missing.values() if n > 0)
    if not needed:
        return 0
    candidates = iter(
        db.session.scalars(
            select(Event.id)
            .where(
                Event.is_listed,
                Event.starts_at > now + OWNED_EVENT_LEAD,
                Event.host_id.not_in(host_ids),
            )
            .order_by(Event.id)
            .limit(needed)
        ).all()
    )
    assigned = 0
    for host_id, count in missing.items():
        event_ids = [event_id for _, event_id in zip(range(count), candidates, strict=False)]
        if event_ids:
            db.session.execute(
                update(Event).where(Event.id.in_(event_ids)).values(host_id=host_id)
            )
            assigned += len(event_ids)
    return assigned


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.accounts",
        description="Create (or reset) loadtest-member-N and loadtest-host-N @example.com "
        f"in the load-test database (${DATABASE_VARIABLE}).",
    )
    parser.add_argument("--members", type=int, default=600, help="member accounts to have")
    parser.add_argument("--hosts", type=int, default=30, help="host accounts to have")
    parser.add_argument(
        "--events-per-host", type=int, default=3,
        help="upcoming listings each host should own (taken from other hosts)",
    )  # fmt: skip
    parser.add_argument("--password-env", default="LOADTEST_PASSWORD",
                        help="environment variable holding the accounts' password")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get(DATABASE_VARIABLE, "")
    if not database_url:
        print(
            f"Set ${DATABASE_VARIABLE} to the load-test database: this hands real hosts' "
            "listings to load-test accounts, so it never uses $DATABASE_URL.",
            file=sys.stderr,
        )
        return 2
    password = os.environ.get(args.password_env, "")
    if not password:
        print(f"Set the password in ${args.password_env}.", file=sys.stderr)
        return 2
    try:
        check_password(password, member_email(1))
    except AccountError as error:
        print(error, file=sys.stderr)
        return 2
    os.environ["DATABASE_URL"] = database_url  # the app's config reads it from there
    app = create_app(instance_path=os.environ.get("EVENTMATE_INSTANCE_PATH") or None)
    with app.app_context():
        result = ensure_accounts(
            args.members, args.hosts, password, args.events_per_host, datetime.now(UTC)
        )
        db.engine.dispose()
    print(
        f"Load-test accounts: {args.members} members, {args.hosts} hosts ({result.created} "
        f"created, {result.updated} reset); {result.events_assigned} listings given to hosts."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
