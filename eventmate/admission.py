"""Admission control: at most N requests of a worker run at once; the rest queue in order.

Why (measured, loadtest/RESULTS.md): a gevent worker accepts every keep-alive connection it is
offered and runs all their requests at once. Past what the CPU can serve, each of hundreds of
runnable greenlets waits a whole turn of the event loop for every Redis or PostgreSQL reply
while holding a pooled connection; pools run dry, greenlets queue for them (some until they
give up), and connections that lose those races starve. The median stayed fine while p99 went
past a second. A gate in front of the app keeps only N requests in flight per worker: each
turn of the loop is short, a pooled connection is held for one round trip, and waiting
happens here, first come first served, where it is cheap and fair.

GETs and HEADs are gated (see GATED_METHODS). Requests still queued after ADMISSION_TIMEOUT
seconds get the 503 page with Retry-After
(overload shed cleanly instead of timing out). Health checks and metrics skip the queue, so a
load balancer sees a busy instance as alive. With ADMISSION_SLOTS = 0 there is no gate (the
default outside gevent, where gunicorn's threads already bound concurrency).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from flask import Flask, abort, request
from flask.typing import ResponseReturnValue

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
SHED = "eventmate.admission_shed"  # environ key: waited too long, answer 503
UNGATED_PREFIXES = ("/health/", "/metrics/")
# Only requests without a body: a slot held while a client trickles in an upload (no read
# timeout under gevent) would be one fewer for everybody. Forms and bookings are rare, and
# rate-limited.
GATED_METHODS = frozenset({"GET", "HEAD"})
RETRY_AFTER_SECONDS = 5
SHED_INTERVAL = 0.05  # seconds between two connections a busy worker asks to reconnect


class FairGate:
    """A counting semaphore that hands a freed slot to the longest waiter (strict FIFO).

    threading.Semaphore lets a newcomer take a slot that was just freed for a woken waiter,
    which then queues again at the back: under overload some requests wait for ever.
    """

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    def enter(self, timeout: float) -> bool:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        try:
            if turn.wait(timeout):
                return True
        except BaseException:  # the waiting greenlet was killed (worker shutdown, a Timeout)
            self._give_up(turn, keep=False)
            raise
        return self._give_up(turn, keep=True)

    def _give_up(self, turn: threading.Event, keep: bool) -> bool:
        """Leave the queue. A slot handed over meanwhile is kept, or passed on: never lost."""
        with self._lock:
            if not turn.is_set():
                self._waiters.remove(turn)
                return False
        if keep:  # the slot arrived just as the wait timed out
            return True
        self.leave()
        return False

    def leave(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # the slot passes straight to the next in line
            else:
                self._free += 1

    @property
    def queued(self) -> int:
        return len(self._waiters)


class AdmissionGate:
    """WSGI middleware, outermost, so a cache hit queues like everything else."""

    def __init__(self, wsgi_app: WSGIApp, slots: int, timeout: float) -> None:
        self.wsgi_app = wsgi_app
        self.slots = slots
        self.gate = FairGate(slots)
        self.last_shed = 0.0  # when a connection was last asked to reconnect
        self.timeout = timeout

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] not in GATED_METHODS or environ.get(
            "PATH_INFO", ""
        ).startswith(UNGATED_PREFIXES):
            return self.wsgi_app(environ, start_response)
        admitted = self.gate.enter(self.timeout)
        if not admitted:
            environ[SHED] = True  # Flask renders the 503 page with every header
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            if admitted:
                self.gate.leave()


def gevent_is_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return monkey.is_module_patched("socket")


def init_app(app: Flask) -> None:
    """Call last in create_app: the gate wraps every other middleware."""
    slots = app.config["ADMISSION_SLOTS"]
    if slots is None:
        slots = app.config["ADMISSION_SLOTS_UNDER_GEVENT"] if gevent_is_patched() else 0
    if slots <= 0:
        return
    app.wsgi_app = AdmissionGate(app.wsgi_app, slots, app.config["ADMISSION_TIMEOUT"])
    app.extensions["admission"] = app.wsgi_app

    @app.before_request
    def shed_if_queued_too_long() -> ResponseReturnValue | None:
        if request.environ.get(SHED):
            abort(503, retry_after=RETRY_AFTER_SECONDS)
        return None

    # Shedding must come before anything that would spend work on the request.
    app.before_request_funcs[None].insert(0, app.before_request_funcs[None].pop())


def shed_connection_if_queue_is_long(app, req) -> None:
    """gunicorn pre_request: a worker with a long queue now and then closes a connection.

    A keep-alive connection stays with the worker that accepted it, and the busiest worker,
    whose loop polls most often, wins most accepts: after a worker restarted, measured 546
    connections on one worker and 126 on the other, whose clients waited far longer (cached
    pages at 500 connections with 250 ms pauses: p95 250–320 ms). A worker with more than a
    full set of requests queued asks one client per SHED_INTERVAL to reconnect
    (`Connection: close`), and the reconnection goes to whichever worker accepts it: the
    connections even out (87 and 119 measured) and p95 fell to 60–90 ms. Closing one per
    request instead churned connections under saturation and tripled p99.
    """
    admission = getattr(app, "extensions", {}).get("admission")
    if admission is None or admission.gate.queued <= admission.slots:
        return
    now = time.monotonic()
    if now - admission.last_shed >= SHED_INTERVAL:
        admission.last_shed = now
        req.must_close = True
