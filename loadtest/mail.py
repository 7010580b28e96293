"""Email during the load test, as deployed: an SMTP server on loopback (aiosmtpd, the one the
tests use) standing in for the mail relay, a Celery worker and beat started as scripts/serve
starts them, and the outbox's check afterwards: every booking made during the run has its
confirmation (sent or still pending), every cancellation its notice, and no message reached
the SMTP server twice."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from loadtest import servers
from loadtest.dataset import engine

ROLES = ("worker", "beat")
DRAIN_TIMEOUT = 300  # seconds; the drain measures ~45 messages/s for one worker


def _python(env: dict[str, str]) -> str:
    return str(Path(env.get("VIRTUAL_ENV", servers.ROOT / ".venv")) / "bin" / "python")


class Celery(servers.Server):
    """`celery -A wsgi:celery worker|beat` in a process group of its own, at scripts/serve's
    CPU priority (WORKER_NICE); SIGTERM is Celery's warm shutdown (a worker finishes the tasks
    it runs)."""

    def __init__(self, role: str, env: dict[str, str], out_dir: Path) -> None:
        super().__init__(out_dir / f"celery-{role}.log")
        self.name, self.role, self.env = f"celery {role}", role, env
        self.schedule = out_dir / "celerybeat-schedule"

    def command(self) -> tuple[list[str], dict[str, str]]:
        nice = ["nice", "-n", self.env.get("WORKER_NICE", "10")]
        command = [*nice, _python(self.env), "-m", "celery", "-A", "wsgi:celery", self.role,
                   "--loglevel=WARNING"]  # fmt: skip
        if self.role == "worker":
            command.append(f"--concurrency={self.env.get('WORKER_CONCURRENCY', '2')}")
        else:
            command.append(f"--schedule={self.schedule}")
        return command, self.env


@contextmanager
def paused(jobs: list[Celery]):
    """SIGSTOP the jobs' process groups for the block, SIGCONT after (a task a worker held is
    acknowledged late, so nothing is lost while it is stopped)."""
    for job in jobs:
        os.killpg(job.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for job in jobs:
            os.killpg(job.process.pid, signal.SIGCONT)


class Sink(servers.Server):
    """The SMTP server standing in for the mail relay (loadtest/sink.py), niced: a relay is
    another machine, so its CPU is the load test's, not the site's."""

    name = "smtp sink"

    def __init__(self, port: int, env: dict[str, str], out_dir: Path) -> None:
        super().__init__(out_dir / "smtp-sink.log")
        self.port, self.env = port, env
        self.keys = out_dir / "smtp-send-keys.txt"

    def command(self) -> tuple[list[str], dict[str, str]]:
        return [
            "nice", "-n", "19", _python(self.env), "-m", "loadtest.sink",
            "--port", str(self.port), "--keys", str(self.keys),
        ], self.env  # fmt: skip

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while servers.port_is_free(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the SMTP sink did not start; see {self.log_path}")
            time.sleep(0.1)

    def send_keys(self) -> list[str]:
        return self.keys.read_text(encoding="utf-8").split() if self.keys.exists() else []


def database_now(database_url: str) -> datetime:
    with engine(database_url).connect() as connection:
        return connection.execute(text("SELECT now()")).scalar()


def wait_for_outbox(database_url: str, since: datetime | None, timeout: float) -> tuple[int, float]:
    """Wait until no message queued since `since` (any, if None) is pending, at most `timeout`
    seconds: (messages still pending, seconds waited)."""
    started = time.monotonic()
    query = text(
        "SELECT count(*) FROM outbox WHERE status = 'pending'"
        + (" AND created_at >= :since" if since else "")
    )
    with engine(database_url).connect() as connection:
        while True:
            pending = connection.execute(query, {"since": since}).scalar()
            connection.commit()  # a fresh snapshot each time
            waited = time.monotonic() - started
            if not pending or waited > timeout:
                return pending, waited
            time.sleep(0.5)


# Bookings made (or cancelled) during the run whose message is not in the outbox at all.
MISSING_SQL = """
SELECT
  (SELECT count(*) FROM bookings WHERE created_at >= :since),
  (SELECT count(*) FROM bookings b WHERE b.created_at >= :since AND NOT EXISTS (
     SELECT 1 FROM outbox o WHERE o.send_key = 'booking-confirmed:' || b.id)),
  (SELECT count(*) FROM bookings WHERE cancelled_at >= :since),
  (SELECT count(*) FROM bookings b WHERE b.cancelled_at >= :since AND NOT EXISTS (
     SELECT 1 FROM outbox o WHERE o.send_key = 'booking-cancelled:' || b.id))
"""
STATUS_SQL = "SELECT status, count(*) FROM outbox WHERE created_at >= :since GROUP BY status"
SENT_KEYS_SQL = "SELECT send_key FROM outbox WHERE status = 'sent' AND sent_at >= :since"


@dataclass
class MailCheck:
    """What the outbox and the SMTP server say about the emails of one load run."""

    bookings: int = 0
    unconfirmed: int = 0  # bookings with no confirmation in the outbox
    cancellations: int = 0
    unnoticed: int = 0  # cancellations with no notice in the outbox
    statuses: dict[str, int] = field(default_factory=dict)  # the run's messages by status
    received: int = 0  # messages the SMTP server accepted
    twice: int = 0  # of those, repeats of a send key already received
    lost: int = 0  # marked sent, never received
    drain_seconds: float = 0.0  # from the end of the load until nothing of it was pending

    @property
    def problems(self) -> list[str]:
        found = []
        if self.unconfirmed:
            found.append(f"{self.unconfirmed} of {self.bookings} bookings have no confirmation")
        if self.unnoticed:
            found.append(f"{self.unnoticed} of {self.cancellations} cancellations have no notice")
        if self.twice:
            found.append(f"{self.twice} messages reached the SMTP server twice")
        if self.lost:
            found.append(f"{self.lost} messages marked sent never reached the SMTP server")
        return found

    def describe(self) -> str:
        statuses = ", ".join(f"{n:,} {status}" for status, n in sorted(self.statuses.items()))
        return (
            f"emails: {self.bookings:,} bookings and {self.cancellations:,} cancellations in the "
            f"run; outbox rows: {statuses or 'none'}; SMTP received {self.received:,} "
            f"in all ({self.twice} twice, {self.lost} lost); drained "
            f"{self.drain_seconds:.1f} s after the load"
        )


def check(
    database_url: str, since: datetime, send_keys: list[str], drain_seconds: float
) -> MailCheck:
    """`send_keys`: one per message the SMTP server accepted, as it accepted them."""
    with engine(database_url).connect() as connection:
        bookings, unconfirmed, cancellations, unnoticed = connection.execute(
            text(MISSING_SQL), {"since": since}
        ).one()
        statuses = dict(connection.execute(text(STATUS_SQL), {"since": since}).all())
        sent = set(connection.execute(text(SENT_KEYS_SQL), {"since": since}).scalars())
    keys = Counter(send_keys)
    return MailCheck(
        bookings=bookings, unconfirmed=unconfirmed, cancellations=cancellations,
        unnoticed=unnoticed, statuses=statuses, received=sum(keys.values()),
        twice=sum(n - 1 for n in keys.values()), lost=len(sent - keys.keys()),
        drain_seconds=drain_seconds,
    )  # fmt: skip
