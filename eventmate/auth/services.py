"""Creating and changing user accounts. Services own their transactions."""

from __future__ import annotations

import logging
from functools import cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import ObjectDeletedError
from zxcvbn import zxcvbn

from eventmate.auth.hashing import hash_password as hash_password
from eventmate.auth.hashing import needs_rehash, password_matches
from eventmate.extensions import db
from eventmate.models import User, normalise_email

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
# Long enough for any passphrase, short enough that hashing it is not a denial of service.
MAX_PASSWORD_LENGTH = 128
# zxcvbn scores 0–4; below 2 means found in common-password lists or trivially patterned.
MIN_PASSWORD_SCORE = 2


class AccountError(ValueError):
    """A user-facing reason an account could not be created or changed."""


def clean_email(raw: str) -> str:
    """A normalised email address, or AccountError saying what is wrong with it."""
    email = normalise_email(raw or "")
    if not email:
        raise AccountError("Enter an email address.")
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(f"“{raw.strip()[:100]}” is not a valid email address: {error}") from None
    return normalise_email(result.normalized)


def check_password(password: str, email: str, display_name: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"Use a password of at most {MAX_PASSWORD_LENGTH} characters.")
    if password.strip().lower() in {email, email.split("@")[0]}:
        raise AccountError("Your password can't be your email address.")
    inputs = [email, email.split("@")[0], *display_name.split()]
    if zxcvbn(password, user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        raise AccountError("That password is too common or easy to guess. Try a longer phrase.")


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str,
    password: str,
    display_name: str | None = None,
    *,
    is_host: bool = False,
    is_admin: bool = False,
) -> User:
    email = clean_email(email)
    check_password(password, email, display_name or "")
    release_connection()  # e.g. a signed-in session's user was loaded: not held while hashing
    password_hash = hash_password(password)
    if user_by_email(email) is not None:
        raise AccountError(f"An account for {email} already exists.")
    user = User(
        email=email,
        display_name=(display_name or email.split("@")[0])[:80],
        password_hash=password_hash,
        is_host=is_host or is_admin,
        is_admin=is_admin,
    )
    db.session.add(user)
    db.session.commit()
    return user


@cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so a miss costs as much time as a wrong password."""
    return hash_password("not-a-real-password")


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (never says which part was wrong)."""
    user = user_by_email(email) if len(password) <= MAX_PASSWORD_LENGTH else None
    password_hash = user.password_hash if user is not None else _dummy_hash()
    release_connection()
    if not password_matches(password_hash, password) or user is None:
        return None
    # An older (werkzeug) hash is replaced once its password is known; hashed here, before
    # the user is read again, so that no connection is held meanwhile either.
    new_hash = hash_password(password) if needs_rehash(password_hash) else None
    try:
        if not user.is_active:  # reloaded: the account as it is now
            return None
    except ObjectDeletedError:  # removed while its password was being checked
        return None
    if new_hash and user.password_hash == password_hash:  # not changed meanwhile
        _store_upgraded_hash(user, new_hash)
    return user


def _store_upgraded_hash(user: User, new_hash: str) -> None:
    """Optional work: if it fails, the member still signs in (and is upgraded next time)."""
    user_id = user.id
    try:
        user.password_hash = new_hash
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        logger.warning("could not store the upgraded password hash of user %s", user_id)


def release_connection() -> None:
    """Ends the read-only transaction, so its pooled connection goes back before a hash.

    A hash takes 20 ms of CPU (scrypt's took 0.1 s), and a burst of logins makes a queue of
    them. Holding a connection meanwhile, 200 load-test users logging in at once took every
    connection of the pool: pages waited 10 s for one and got a 503. Objects read so far are
    expired and reload on their next use. A commit, not a rollback: the transaction has only
    read, and nothing the request did is ever dropped.
    """
    db.session.commit()


def promote(email: str, *, host: bool = False, admin: bool = False) -> User:
    """Grant host and/or admin rights (an admin is always a host too). Commits."""
    user = _existing(email)
    user.is_host = user.is_host or host or admin
    user.is_admin = user.is_admin or admin
    db.session.commit()
    return user


def _existing(email: str) -> User:
    user = user_by_email(email)
    if user is None:
        raise AccountError(f"There is no account for {normalise_email(email)}.")
    return user
