"""Admission control (eventmate/admission.py): bounded concurrency, strict FIFO, clean 503s."""

from __future__ import annotations

import threading
import time

import pytest

from config import TestConfig
from eventmate import admission, create_app
from eventmate.admission import FairGate


def _wait_for(condition, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_freed_slot_goes_to_the_longest_waiter_not_a_newcomer():
    gate = FairGate(1)
    assert gate.enter(0)
    order: list[int] = []

    def queue_up(number: int) -> None:
        assert gate.enter(5)
        order.append(number)
        gate.leave()

    threads = []
    for number in range(3):
        thread = threading.Thread(target=queue_up, args=(number,))
        thread.start()
        threads.append(thread)
        _wait_for(lambda n=number: gate.queued == n + 1)  # queued in this order

    gate.leave()
    assert not gate.enter(0)  # the slot went to the first waiter: no barging in
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2]
    assert gate.enter(0)  # and it came back once the queue was empty


def test_a_waiter_gives_up_after_its_timeout_and_leaves_the_queue():
    gate = FairGate(1)
    assert gate.enter(0)
    started = time.monotonic()
    assert not gate.enter(0.05)
    assert 0.04 < time.monotonic() - started < 2
    assert gate.queued == 0
    gate.leave()
    assert gate.enter(0)


def _gated_app(tmp_path):
    app = create_app(TestConfig, instance_path=str(tmp_path))
    app.config.update(ADMISSION_SLOTS=1, ADMISSION_TIMEOUT=0.05)
    admission.init_app(app)
    return app, app.extensions["admission"].gate


def test_a_request_queued_too_long_gets_the_503_page_with_retry_after(tmp_path):
    app, gate = _gated_app(tmp_path)
    client = app.test_client()
    assert gate.enter(0)  # every slot busy
    try:
        shed = client.get("/no-such-page/")
        health = client.get("/health/")
    finally:
        gate.leave()
    assert shed.status_code == 503
    assert shed.headers["Retry-After"] == str(admission.RETRY_AFTER_SECONDS)
    assert "briefly unavailable" in shed.get_data(as_text=True)
    assert "frame-ancestors 'none'" in shed.headers["Content-Security-Policy"]
    assert health.status_code == 200  # the load balancer's probe skips the queue

    admitted = client.get("/no-such-page/")
    assert admitted.status_code == 404
    assert gate.enter(0)  # every admitted request gave its slot back


def test_no_gate_without_gevent_unless_configured(app):
    assert "admission" not in app.extensions


class _Request:  # what gunicorn's pre_request hook is given, as far as we use it
    must_close = False


def test_a_worker_with_a_long_queue_asks_one_client_at_a_time_to_reconnect(tmp_path):
    app, gate = _gated_app(tmp_path)
    quiet = _Request()
    admission.shed_connection_if_queue_is_long(app, quiet)
    assert not quiet.must_close  # nobody waiting: keep the connection

    assert gate.enter(0)
    waiting = [threading.Thread(target=lambda: gate.enter(5) and gate.leave()) for _ in range(2)]
    for thread in waiting:
        thread.start()
    _wait_for(lambda: gate.queued == 2)  # more queued than the worker's slots
    first, second = _Request(), _Request()
    admission.shed_connection_if_queue_is_long(app, first)
    admission.shed_connection_if_queue_is_long(app, second)
    gate.leave()
    for thread in waiting:
        thread.join(5)
    assert first.must_close  # this client reconnects, perhaps to a less busy worker
    assert not second.must_close  # but only one per SHED_INTERVAL


def test_a_waiter_killed_while_queued_leaves_no_slot_behind(monkeypatch):
    class Killed(BaseException):
        pass

    gate = FairGate(1)
    assert gate.enter(0)

    def killed(self, timeout=None):
        raise Killed

    monkeypatch.setattr(threading.Event, "wait", killed)
    with pytest.raises(Killed):
        gate.enter(5)
    monkeypatch.undo()
    assert gate.queued == 0
    gate.leave()
    assert gate.enter(0)  # the slot came back, not handed to the dead waiter


def test_requests_with_a_body_are_not_gated(tmp_path):
    """A slot held while a client trickles in an upload would be one fewer for everybody."""
    app, gate = _gated_app(tmp_path)
    assert gate.enter(0)  # every slot busy
    try:
        posted = app.test_client().post("/no-such-page/", data={"x": "1"})
    finally:
        gate.leave()
    assert posted.status_code != 503
