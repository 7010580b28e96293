"""Password hashing that can't starve the pages of a gevent worker.

scrypt costs ~0.1 s of CPU per hash and releases the GIL. Inline, it would stop every other
request of the worker; in gevent's default thread pool (10 threads) a burst of logins (500
load-test users starting in 10 s, or everyone signing in again after the session store was
lost) ran up to 10 hashes per worker at once, and the two event loops got a small share of
the cores: every page took seconds. Here each worker hashes one password at a time, in a
thread of lower scheduling priority, so pages keep the CPU and logins wait their turn.
"""

from __future__ import annotations

import os
import threading

from werkzeug.security import check_password_hash, generate_password_hash

HASHING_THREADS = 1
# Linux nice value for the hashing thread: the event loop (nice 0) gets ~10x its CPU share.
HASHING_NICENESS = 10

_pool = None
_pool_pid = None


def hash_password(password: str) -> str:
    return off_the_event_loop(generate_password_hash, password, "scrypt")


def password_matches(password_hash: str, password: str) -> bool:
    return off_the_event_loop(check_password_hash, password_hash, password)


def off_the_event_loop(work, *args):
    """Runs `work` in the hashing thread under gevent (waiting greenlets queue for it); inline
    without gevent, where each request has a thread of its own."""
    if not under_gevent():
        return work(*args)
    return hashing_pool().apply(_deprioritised, (work, *args))


def under_gevent() -> bool:
    from gevent import monkey

    return monkey.is_module_patched("threading")


def hashing_pool():
    """This process's pool (a forked worker must not reuse its parent's threads)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        from gevent.threadpool import ThreadPool

        _pool, _pool_pid = ThreadPool(HASHING_THREADS), os.getpid()
    return _pool


def _deprioritised(work, *args):
    lower_own_priority(HASHING_NICENESS)
    return work(*args)


def lower_own_priority(niceness: int) -> None:
    """Lowers the calling OS thread's priority (Linux schedules threads one by one); a no-op
    where that is not possible. An unprivileged thread can only lower it, never raise it."""
    try:
        thread = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, thread) < niceness:
            os.setpriority(os.PRIO_PROCESS, thread, niceness)
    except (AttributeError, OSError):
        pass
