"""Password hashing: Argon2id, with werkzeug's older hashes still accepted.

Argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane) costs ~21 ms of
CPU per hash here; werkzeug's scrypt (N=2^15, below OWASP's scrypt minimum of 2^17) cost
~97 ms. Accounts hashed with werkzeug (scrypt, pbkdf2) still sign in, and their hash is
replaced with an Argon2id one when they do. Until then a wrong password for such an account
takes longer than one for an unknown email (checked against an Argon2id dummy): an account
not yet upgraded can be told from no account by timing (README, Security).

Hashed inline, in the request's own greenlet: for ~21 ms its worker serves nothing else.
Behind the edge, which bounds the requests a worker runs at once, that measured best: a
lower-priority hashing thread left sign-ins waiting behind every page on a saturated box and
made pages no faster (loadtest/RESULTS.md).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1.
ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return ARGON2.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    if not password_hash.startswith("$argon2"):
        return check_password_hash(password_hash, password)  # scrypt or pbkdf2, from werkzeug
    try:
        return ARGON2.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True for a werkzeug hash, or an Argon2id one with other parameters than ARGON2's."""
    if not password_hash.startswith("$argon2"):
        return True
    try:
        return ARGON2.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
