"""`flask loadtest accounts`: known-password accounts for loadtest/ (the bulk seed's have none).

Members are loadtest-member-N@example.com, hosts loadtest-host-N@example.com, all with the one
password read from an environment variable (never a command-line argument, which `ps` shows).
Running it again resets that password and tops up what is missing, so it is idempotent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import func, select, update

from eventmate.auth.services import AccountError, check_password, hash_password
from eventmate.extensions import db
from eventmate.models import Event, User

loadtest_cli = AppGroup("loadtest", help="Accounts for the load tests in loadtest/.")

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
                )
            )
            created += 1
        else:
            user.password_hash = password_hash
            user.is_active = True
            user.is_host = user.is_host or is_host
    db.session.flush()
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
            .where(Event.host_id.in_(host_ids), Event.is_active.is_(True), Event.starts_at > soon)
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
                Event.is_active.is_(True),
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
            db.session.execute(update(Event).where(Event.id.in_(event_ids)).values(host_id=host_id))
            assigned += len(event_ids)
    return assigned


@loadtest_cli.command("accounts")
@click.option("--members", default=600, show_default=True, help="Member accounts to have.")
@click.option("--hosts", default=30, show_default=True, help="Host accounts to have.")
@click.option(
    "--events-per-host",
    default=3,
    show_default=True,
    help="Upcoming listings each host should own (taken from other hosts).",
)
@click.option(
    "--password-env",
    default="LOADTEST_PASSWORD",
    show_default=True,
    help="Environment variable holding the accounts' password.",
)
def accounts_command(members: int, hosts: int, events_per_host: int, password_env: str):
    """Create (or reset) loadtest-member-N and loadtest-host-N @example.com."""
    password = os.environ.get(password_env, "")
    if not password:
        raise click.ClickException(f"Set the password in ${password_env}.")
    try:
        check_password(password, member_email(1))
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    result = ensure_accounts(members, hosts, password, events_per_host, datetime.now(UTC))
    click.echo(
        f"Load-test accounts: {members} members, {hosts} hosts ({result.created} created, "
        f"{result.updated} reset); {result.events_assigned} listings given to hosts."
    )
