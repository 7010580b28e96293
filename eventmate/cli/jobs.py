from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.models import OutboxMessage

jobs_cli = AppGroup("jobs", help="Background jobs: run beat's jobs once, see the outbox.")


def _jobs() -> dict:
    from eventmate.bookings.tasks import send_reminders
    from eventmate.notifications.tasks import sweep_outbox
    from eventmate.waitlist.tasks import expire_waitlist_holds

    return {"sweep": sweep_outbox, "reminders": send_reminders, "holds": expire_waitlist_holds}


@jobs_cli.command("run")
@click.argument("job", type=click.Choice(["sweep", "reminders", "holds"]))
def run_command(job: str):
    """Run one of beat's periodic jobs now, in this process (e.g. from cron where no beat
    runs). Whatever it queues is sent as usual (in-process without Redis)."""
    count = _jobs()[job]()
    click.echo(f"{job}: {count} message(s) handed out")


@jobs_cli.command("outbox")
def outbox_command():
    """Messages in the outbox by status, and the oldest still pending."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .group_by(OutboxMessage.status)
        .order_by(OutboxMessage.status)
    ).all()
    if not rows:
        click.echo("The outbox is empty.")
    for status, count, oldest in rows:
        since = f" (oldest {oldest:%Y-%m-%d %H:%M} UTC)" if status == "pending" else ""
        click.echo(f"{status:8} {count}{since}")
