"""One gunicorn worker recycles at a time (max_requests), never several at once.

gunicorn replaces a worker after `max_requests` (+ up to `max_requests_jitter`) requests. Its
workers share the load evenly, so they reach the count together: measured on two workers at
~1,700 req/s, both restarted within the same second, every ~10 s, and for the two seconds a
restart takes (a second to notice, a second to drain, then a fork) nobody served: p99 went
from 134 ms to ~1 s. Here a worker that has reached its count restarts only if it can take
the recycling turn, an exclusive lock on a file shared by the master's workers, which it holds
until it exits; if another worker holds it, it serves RETRY_AFTER_REQUESTS more and asks again.

And not before the worker is `min_age` seconds old (GUNICORN_MIN_WORKER_AGE, 60): at 1,500
requests a second a worker reaches 10,000 every 7 s, and recycling that often cost a quarter
of the throughput and tripled p99 on cached pages (loadtest/RESULTS.md). At an ordinary rate
the count decides, as max_requests intends; under heavy load a worker lives at least a minute.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time

RETRY_AFTER_REQUESTS = 100


def take_over_recycling(worker, min_age: float) -> None:
    """post_fork: gunicorn's own check would restart at once; the count becomes ours."""
    worker.recycle_after = worker.max_requests  # max_requests + jitter, or sys.maxsize
    worker.recycle_not_before = time.monotonic() + min_age
    worker.max_requests = sys.maxsize


def recycle_if_due(worker) -> None:
    """post_request: start this worker's restart when its count is reached and it is its turn."""
    if not worker.alive or worker.nr < getattr(worker, "recycle_after", sys.maxsize):
        return
    if time.monotonic() < worker.recycle_not_before:
        return
    if _take_turn(worker):
        worker.log.info("Recycling worker after %s requests (max_requests)", worker.nr)
        worker.alive = False  # gunicorn closes keep-alive connections and drains
    else:
        worker.recycle_after = worker.nr + RETRY_AFTER_REQUESTS


def turn_file(master_pid: int) -> str:
    return os.path.join(tempfile.gettempdir(), f"eventmate-recycling-{master_pid}.lock")


def _take_turn(worker) -> bool:
    try:
        descriptor = os.open(
            turn_file(worker.ppid), os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except OSError:  # no usable lock file: recycle as gunicorn would, rather than never
        worker.log.warning("recycling turn file unavailable", exc_info=True)
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return False
    worker.recycling_turn = descriptor  # held open (and locked) until the process exits
    return True
