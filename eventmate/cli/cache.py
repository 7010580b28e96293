"""`flask cache clear`: drop cached pages and query results."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from eventmate.caching import invalidate_event
from eventmate.extensions import cache

cache_cli = AppGroup("cache", help="The cache (pages, home page aggregates).")


@cache_cli.command("clear")
@click.option("--event", "slug", help="Only this event's pages (by slug).")
def clear_command(slug: str | None):
    """Everything this site has cached, or one event's pages."""
    if slug:
        invalidate_event(slug)
        click.echo(f"Cleared the cached pages of {slug}.")
        return
    if not cache.clear():
        raise click.ClickException("The cache could not be cleared (is Redis reachable?).")
    click.echo("Cleared the cache.")
