from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from eventmate.auth.services import AccountError, create_user, promote
from eventmate.hosts.onboarding import set_hosting_suspended
from eventmate.hosts.services import set_account_active

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", "display_name", help="Display name (default: the part before @).")
@click.option("--host", "is_host", is_flag=True, help="Allow the user to list events.")
@click.option("--admin", "is_admin", is_flag=True, help="Make the user an administrator.")
@click.password_option(help="Prompted for if not given.")
def create_command(
    email: str, display_name: str | None, is_host: bool, is_admin: bool, password: str
):
    """Create a user account with a prompted password."""
    try:
        user = create_user(email, password, display_name, is_host=is_host, is_admin=is_admin)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    roles = [role for role, on in (("host", user.is_host), ("admin", user.is_admin)) if on]
    click.echo(f"Created {user.email}" + (f" ({', '.join(roles)})" if roles else "") + ".")


@users_cli.command("promote")
@click.argument("email")
@click.option("--host", "as_host", is_flag=True, help="Let the user list events.")
@click.option("--admin", "as_admin", is_flag=True, help="Make the user an administrator.")
def promote_command(email: str, as_host: bool, as_admin: bool):
    """Give an existing user host or admin rights."""
    if not (as_host or as_admin):
        raise click.UsageError("Say what to promote to: --host or --admin.")
    try:
        user = promote(email, host=as_host, admin=as_admin)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.email}: host={user.is_host}, admin={user.is_admin}.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str):
    """Block an account from logging in and unlist the events it hosts (bookings kept)."""
    _set_active(email, False)


@users_cli.command("reactivate")
@click.argument("email")
def reactivate_command(email: str):
    """Let an account log in again; its events are listed again unless hidden or suspended."""
    _set_active(email, True)


def _set_active(email: str, active: bool) -> None:
    try:
        user, events = set_account_active(email, active)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    if not events:
        click.echo(f"{'Reactivated' if active else 'Deactivated'} {user.email}.")
    elif active:
        click.echo(f"Reactivated {user.email}; its {events} hosted event(s) are listed again, "
                   "except any the host hid or an administrator suspended.")  # fmt: skip
    else:
        click.echo(f"Deactivated {user.email}; its {events} hosted event(s) are off the site "
                   "(bookings kept).")  # fmt: skip


@users_cli.command("suspend-host")
@click.argument("email")
def suspend_host_command(email: str):
    """Take away someone's hosting: their events leave the site (bookings kept), and the site
    won't let them become a host again until `restore-host`."""
    _set_hosting_suspended(email, True)


@users_cli.command("restore-host")
@click.argument("email")
def restore_host_command(email: str):
    """Give back hosting taken away by `suspend-host`: their events are listed again, except
    any they hid or an administrator suspended."""
    _set_hosting_suspended(email, False)


def _set_hosting_suspended(email: str, suspended: bool) -> None:
    try:
        user, events = set_hosting_suspended(email, suspended, datetime.now(UTC))
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    if suspended:
        click.echo(f"Suspended hosting for {user.email}; {events} hosted event(s) are off the "
                   "site (bookings kept).")  # fmt: skip
    else:
        click.echo(f"Restored hosting for {user.email}; {events} hosted event(s) are listed "
                   "again, except any hidden or suspended.")  # fmt: skip
