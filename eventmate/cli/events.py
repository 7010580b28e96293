from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.hosts.services import attendees, attendees_csv, set_active
from eventmate.models import Event

events_cli = AppGroup("events", help="Manage event listings.")
bookings_cli = AppGroup("bookings", help="Bookings: exports.")


def _event(slug: str) -> Event:
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        raise click.ClickException(f"There is no event with the slug {slug!r}.")
    return event


@events_cli.command("deactivate")
@click.argument("slug")
def deactivate_command(slug: str):
    """Hide an event from the site (its bookings are kept)."""
    event = _event(slug)
    set_active(event, False)
    click.echo(f"Deactivated {event.slug} ({event.title}).")


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
