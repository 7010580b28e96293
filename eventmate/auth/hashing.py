"""Password hashing: Argon2id, and hashing that can't starve the pages of a gevent worker.

Argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane) costs ~21 ms of
CPU per hash here; werkzeug's scrypt (N=2^15, below OWASP's scrypt minimum of 2^17) cost
~97 ms. Accounts hashed with werkzeug (scrypt, pbkdf2) still sign in, and their hash is
replaced with an Argon2id one when they do. Until then a wrong password for such an account
takes longer than one for an unknown email (checked against an Argon2id dummy): an account
not yet upgraded can be told from no account by timing (README, Security).

A hash releases the GIL. Inline, it would stop every other request of the worker; in
gevent's default thread pool (10 threads) a burst of logins (500 load-test users starting in
10 s, or everyone signing in again after the session store was lost) ran up to 10 hashes per
worker at once, and the two event loops got a small share of the cores: every page took
seconds. Here each worker hashes one password at a time, in a thread of lower scheduling
priority, so pages keep most of the CPU and logins wait their turn.
"""

from __future__ import annotations

import os
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1.
ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
HASHING_THREADS = 1
# Linux nice value for the hashing thread: a busy event loop (nice 0) gets 3x its CPU share,
# and logins still finish in seconds when the box is saturated (at 10 they waited 20 s+).
HASHING_NICENESS = 5

_pool = None
_pool_pid = None


def hash_password(password: str) -> str:
    return off_the_event_loop(ARGON2.hash, password)


def password_matches(password_hash: str, password: str) -> bool:
    return off_the_event_loop(_matches, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    """True for a werkzeug hash, or an Argon2id one with other parameters than ARGON2's."""
    if not password_hash.startswith("$argon2"):
        return True
    try:
        return ARGON2.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def _matches(password_hash: str, password: str) -> bool:
    if not password_hash.startswith("$argon2"):
        return check_password_hash(password_hash, password)  # scrypt or pbkdf2, from werkzeug
    try:
        return ARGON2.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
