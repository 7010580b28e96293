from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.hosts.services import (
    EventNotCancellable,
    attendees,
    attendees_csv,
    cancel_event,
    suspend,
    unsuspend,
)
from eventmate.models import Event

events_cli = AppGroup("events", help="Manage event listings.")
bookings_cli = AppGroup("bookings", help="Bookings: exports.")


def _event(slug: str) -> Event:
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        raise click.ClickException(f"There is no event with the slug {slug!r}.")
    return event


@events_cli.command("suspend")
@click.argument("slug")
@click.option("--reason", required=True,
              help="Why, in a sentence (at most 200 characters): the host sees it.")  # fmt: skip
def suspend_command(slug: str, reason: str):
    """Take an event off the site until `unsuspend`; its host can't list it again.

    Bookings are kept. The host's dashboard shows the reason.
    """
    event = _event(slug)
    try:
        suspend(event, reason)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--reason") from None
    click.echo(f"Suspended {event.slug} ({event.title}): {event.suspension_reason}")


@events_cli.command("unsuspend")
@click.argument("slug")
def unsuspend_command(slug: str):
    """Lift a suspension: the event is listed again unless its host has hidden it."""
    event = _event(slug)
    if not event.is_suspended:
        raise click.ClickException(f"{event.slug} is not suspended.")
    unsuspend(event)
    state = "listed again" if event.is_listed else "no longer suspended, still not listed"
    click.echo(f"{event.slug} ({event.title}) is {state}.")


@events_cli.command("cancel")
@click.argument("slug")
@click.option("--reason", default="", help="Why, in a sentence: the attendees' email says it.")
@click.confirmation_option(prompt="Cancel the event and all its bookings, for good?")
def cancel_command(slug: str, reason: str):
    """Call an event off for good: its bookings are cancelled and each attendee emailed."""
    event = _event(slug)
    try:
        count = cancel_event(event, reason)
    except EventNotCancellable as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"Cancelled {slug}: {count} booking(s) cancelled, their members told.")


@bookings_cli.command("export")
@click.option("--event", "slug", required=True, help="The event's slug.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: standard output).")  # fmt: skip
def export_command(slug: str, output):
    """Confirmed bookings of one event as CSV."""
    event = _event(slug)
    output.write(attendees_csv(attendees(event.id)))
    if output.name != "<stdout>":
        click.echo(f"Wrote the bookings of {event.slug} to {output.name}.", err=True)
