"""How far behind the replica is, read on the replica at most once a LAG_READING_SECONDS per
process, and a circuit breaker for when it can't be reached.

Lag is 0 while the replica has replayed all the WAL it received (pg_last_wal_receive_lsn() =
pg_last_wal_replay_lsn()); otherwise it is the age of the last transaction it replayed (now()
- pg_last_xact_replay_timestamp()), which is at least the age of the oldest one it hasn't:
never less than the real delay. (The timestamp alone would grow while the primary is idle and
the replica is fully caught up.) On a server that is not in recovery (a primary named as the
replica) it is 0. WAL the primary has not sent yet is not counted: streaming sends it at once.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from eventmate.monitoring.metrics import REPLICA_CIRCUIT_OPEN, REPLICA_LAG
from eventmate.resilience import CircuitBreaker

log = logging.getLogger(__name__)

LAG_READING_SECONDS = 1.0  # how old a reading may be (config.py counts on it)
COOL_DOWN = 5.0  # seconds reads skip the replica after it failed
LAG_QUERY = text(
    """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
    END
    """
)


class ReplicaMonitor:
    """One per app: the replica's engine, its latest lag reading and its breaker. Times are
    wall-clock (time.time), the clock read-your-writes compares across servers, and the one
    tests move."""

    def __init__(self, engine: Engine, clock=time.time) -> None:
        self.engine = engine
        self.clock = clock
        self.breaker = CircuitBreaker(
            COOL_DOWN, gauge=REPLICA_CIRCUIT_OPEN, what="the read replica", clock=clock
        )
        self._lag: float | None = None
        self._read_at = float("-inf")
        self._reading = threading.Lock()

    def usable(self, max_lag: float) -> bool:
        """May reads use the replica now: reachable, and at most `max_lag` seconds behind?"""
        if not self.breaker.allows():
            return False
        lag = self.lag()
        return lag is not None and lag <= max_lag

    def lag(self) -> float | None:
        """The latest reading, taken again when older than LAG_READING_SECONDS (by one request
        at a time; the others meanwhile use the previous one). None: unknown or unreachable."""
        age = self.clock() - self._read_at  # (negative: the clock was set back)
        if not 0 <= age < LAG_READING_SECONDS and self._reading.acquire(blocking=False):
            try:
                self.read_now()
            finally:
                self._reading.release()
        return self._lag

    def read_now(self) -> float | None:
        """A fresh reading (readiness reports the replica as it is)."""
        try:
            with self.engine.connect() as connection:
                value = connection.execute(LAG_QUERY).scalar()
        except SQLAlchemyError as error:
            self.failed(error)
            value = None
        else:
            value = None if value is None else max(0.0, float(value))
            if value is not None:
                REPLICA_LAG.set(value)
        self._lag, self._read_at = value, self.clock()
        return value

    def failed(self, error: Exception) -> None:
        """The replica couldn't be reached or failed a statement: reads skip it a while."""
        self.breaker.trip(error)
