"""Password hashing under gevent: one hash at a time per worker, at a lower CPU priority."""

import os
import threading
import time

import gevent
import pytest

from eventmate.auth import hashing


@pytest.fixture
def as_under_gevent(monkeypatch):
    """The test process isn't monkey-patched; the pool works without it (a real thread)."""
    monkeypatch.setattr(hashing, "under_gevent", lambda: True)


def _own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_without_gevent_hashing_runs_inline_at_its_callers_priority():
    caller, before = threading.get_native_id(), _own_niceness()
    ran_in, niceness = hashing.off_the_event_loop(
        lambda: (threading.get_native_id(), _own_niceness())
    )
    assert (ran_in, niceness) == (caller, before)


def test_under_gevent_hashing_runs_in_a_lower_priority_thread(as_under_gevent):
    caller, before = threading.get_native_id(), _own_niceness()
    ran_in, niceness = hashing.off_the_event_loop(
        lambda: (threading.get_native_id(), _own_niceness())
    )
    assert ran_in != caller
    assert niceness >= max(before, hashing.HASHING_NICENESS)
    assert _own_niceness() == before  # the serving thread keeps its priority


def test_a_burst_of_logins_hashes_one_password_at_a_time(as_under_gevent):
    running, most = 0, 0
    lock = threading.Lock()

    def slow_hash():
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)  # a real thread: this sleep is not gevent's
        with lock:
            running -= 1
        return True

    burst = [gevent.spawn(hashing.off_the_event_loop, slow_hash) for _ in range(6)]
    gevent.joinall(burst, raise_error=True)
    assert all(greenlet.value for greenlet in burst)
    assert most == hashing.HASHING_THREADS == 1


def test_hashes_made_in_the_pool_verify(as_under_gevent):
    password_hash = hashing.hash_password("correct horse battery")
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hashing.password_matches(password_hash, "correct horse battery")
    assert not hashing.password_matches(password_hash, "wrong horse battery")
