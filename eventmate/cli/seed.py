from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from eventmate.caching import invalidate_cities
from eventmate.seed import bulk, demo

seed_cli = AppGroup("seed", help="Load demo or load-test data.")


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has events.")
@click.option("--seed", default=2026, show_default=True, help="Random seed.")
def demo_command(if_empty: bool, seed: int):
    """A small, pleasant data set for trying the site."""
    if not demo.database_is_empty():
        if if_empty:
            click.echo("Database already has events; demo data not loaded.")
            return
        raise click.ClickException("The database already has events; demo data needs an empty one.")
    counts = demo.seed_demo(seed=seed)
    invalidate_cities()  # and the listings
    click.echo("Loaded demo data: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + ".")


@seed_cli.command("bulk")
@click.option("--events", default=100_000, show_default=True, help="Number of events.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same data).")
def bulk_command(events: int, seed: int):
    """A large realistic data set: by default 100k events, 1M bookings, 300k reviews."""
    if events < 1:
        raise click.BadParameter("must be at least 1", param_hint="--events")
    plan = bulk.BulkPlan.scaled(events, seed=seed)
    started = time.perf_counter()
    try:
        bulk.ensure_empty()  # before the progress bar, so a refusal is the only output
        with click.progressbar(length=plan.total_rows, label="Seeding", show_percent=True) as bar:
            counts = bulk.seed_bulk(plan, advance=bar.update)
    except bulk.DatabaseNotEmpty as error:
        raise click.ClickException(f"{error}.") from None
    invalidate_cities()  # and the listings
    click.echo("Analyzing tables…")
    bulk.analyze()
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{n:,} {name}" for name, n in counts.items())
    click.echo(f"Seeded {summary} in {elapsed:.1f} s.")
