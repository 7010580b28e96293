"""How fast one Celery worker drains the outbox to a local SMTP server.

    .venv/bin/python -m loadtest.drain [--messages 1000] [--concurrency 2]
                                       [--handout sweep|each] [--rate PER_SECOND]

Makes a throw-away PostgreSQL database (from PG_ADMIN_URL, default the local server as
postgres), migrates it, writes MESSAGES confirmed bookings with their pending confirmations
(as the booking service does), starts `celery -A wsgi:celery worker` against Redis
(REDIS_URL, default db 9 of the local server, under a key prefix of its own) and an SMTP sink
(aiosmtpd), hands every message out at once (the outbox sweep), and prints how long until all
were sent, the rate, the worker's CPU per message, and how many the sink received more than
once. `--handout`: `sweep` hands them all out at once, in the sweep's batches; `each` hands each
out in a task of its own, as bookings do, `--rate` a second (0: all at once). The database is
dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text

from eventmate import create_app
from eventmate.bookings.notices import tell_attendees
from eventmate.extensions import db
from eventmate.models import Booking, City, Event, OutboxMessage, User
from eventmate.notifications import outbox
from tests.live import ROOT
from tests.smtp import smtp_server


def seed(count: int) -> None:
    city = City(name="Drain", slug="drain", country="Testland", timezone="Europe/Paris")
    host = User(email="host@drain.test", display_name="Host", password_hash="x")
    starts = datetime.now(UTC) + timedelta(days=10)
    event = Event(slug="drain", title="Drain", category="music", city=city, host=host,
                  venue_name="Hall", starts_at=starts, ends_at=starts + timedelta(hours=2),
                  capacity=count, seats_booked=count, published_at=datetime.now(UTC))  # fmt: skip
    members = [User(email=f"m{n}@drain.test", display_name=f"Member {n}", password_hash="x")
               for n in range(count)]  # fmt: skip
    db.session.add_all([city, host, event, *members])
    db.session.flush()
    db.session.add_all(
        Booking(user_id=member.id, event_id=event.id, quantity=1, status="confirmed",
                reference=f"DR{n:06d}")
        for n, member in enumerate(members)
    )  # fmt: skip
    db.session.flush()
    # One confirmation per booking, queued as book_seats queues it (kind, send key).
    tell_attendees(event.id, "booking_confirmed", "booking-confirmed", {}, datetime.now(UTC))
    db.session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--handout", choices=("sweep", "each"), default="sweep")
    parser.add_argument("--rate", type=float, default=0, help="messages a second (0: at once)")
    options = parser.parse_args()
    admin_url = os.environ.get("PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432")
    name = f"eventmate_drain_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with smtp_server() as (mail_url, inbox):
            env = {
                "EVENTMATE_CONFIG": "default", "DATABASE_URL": f"{admin_url}/{name}",
                "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
                "REDIS_KEY_PREFIX": f"em-drain-{os.getpid()}:", "MAIL_URL": mail_url,
            }  # fmt: skip
            os.environ.update(env)
            app = create_app()
            with app.app_context():
                upgrade()
                seed(options.messages)
                worker = subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "wsgi:celery", "worker",
                     "--loglevel=WARNING", f"--concurrency={options.concurrency}"],
                    cwd=ROOT, env={**os.environ, **env},
                )  # fmt: skip
                try:
                    time.sleep(5)  # the worker's start-up is not what is measured
                    sent = select(func.count()).where(OutboxMessage.status == "sent")
                    started = time.monotonic()
                    due = db.session.scalars(select(OutboxMessage.id)).all()
                    if options.handout == "sweep":
                        outbox.dispatch(due)
                    for message_id in due if options.handout == "each" else ():
                        outbox.dispatch([message_id])
                        if options.rate:
                            time.sleep(1 / options.rate)
                    while db.session.scalar(sent) < options.messages:
                        db.session.commit()
                        if time.monotonic() - started > 600:
                            break
                        time.sleep(0.1)
                    elapsed = time.monotonic() - started
                    done = db.session.scalar(sent)
                finally:
                    worker.terminate()
                    worker.wait(timeout=60)
                # The worker's CPU and its processes' (each reaped by its parent), start-up too.
                worker_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
                worker_cpu = worker_cpu.ru_utime + worker_cpu.ru_stime
                db.session.remove()
                db.engine.dispose()
            repeats = sum(n - 1 for n in Counter(inbox.send_keys()).values())
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"drained {done}/{options.messages} confirmations in {elapsed:.1f} s "
          f"({done / elapsed:.0f}/s) with one worker of {options.concurrency} processes, "
          f"handed out: {options.handout}, "
          f"{f'{options.rate:g} a second' if options.rate else 'all at once'}; worker CPU "
          f"{worker_cpu:.1f} s ({worker_cpu * 1000 / max(done, 1):.1f} ms per message); "
          f"SMTP received {len(inbox.messages)}, sent twice: {repeats}")  # fmt: skip
    return 0 if done == options.messages and repeats == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
