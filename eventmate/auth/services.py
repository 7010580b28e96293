"""Creating and changing user accounts. Services own their transactions."""

from __future__ import annotations

import logging
import secrets
from functools import cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import ObjectDeletedError
from zxcvbn import zxcvbn

from eventmate.auth.hashing import hash_password as hash_password
from eventmate.auth.hashing import needs_rehash, password_matches
from eventmate.extensions import db
from eventmate.models import User, normalise_email, utcnow
from eventmate.notifications import outbox

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
# Long enough for any passphrase, short enough that hashing it is not a denial of service.
MAX_PASSWORD_LENGTH = 128
# zxcvbn scores 0–4; below 2 means found in common-password lists or trivially patterned.
MIN_PASSWORD_SCORE = 2
ACCOUNT_EXISTS = "account_exists"  # the outbox kind (eventmate/auth/emails.py)


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
    """An account made by an admin (`flask users create`): its address counts as confirmed.
    AccountError if the address has an account already. Commits."""
    email = clean_email(email)
    check_password(password, email, display_name or "")
    release_connection()  # e.g. a signed-in session's user was loaded: not held while hashing
    password_hash = hash_password(password)
    if user_by_email(email) is not None:
        raise AccountError(f"An account for {email} already exists.")
    user = _new_user(email, display_name, password_hash, is_host=is_host or is_admin,
                     is_admin=is_admin, email_verified_at=utcnow())  # fmt: skip
    db.session.commit()
    return user


def register_account(
    email: str, password: str, display_name: str, next_url: str | None = None
) -> str:
    """Sign-up through the site, which must not tell whether an address has an account: a new
    address gets an unconfirmed account and an email with the link to confirm it; an address
    that has one gets nothing new, and its owner an email saying someone tried (sign in, or
    reset the password). Both check the password's rules and hash it, and both queue one email,
    so both answer alike and take as long. AccountError for an unusable address or password.
    Commits; returns the address as cleaned (for the "check your inbox" page)."""
    from eventmate.auth.verification import queue_verification  # (it imports this module)

    email = clean_email(email)
    check_password(password, email, display_name)
    release_connection()
    password_hash = hash_password(password)
    owner = user_by_email(email)
    if owner is None:
        try:
            user = _new_user(email, display_name, password_hash)
            message_id = queue_verification(user, next_url)
        except IntegrityError:  # the same address registered at this very moment
            db.session.rollback()
            owner = user_by_email(email)
            if owner is None:
                raise
    if owner is not None:
        message_id = outbox.queue(
            ACCOUNT_EXISTS,
            f"account-exists:{owner.id}:{secrets.token_hex(8)}",
            owner.email,
            user_id=owner.id,
        )
    db.session.commit()
    outbox.dispatch([message_id])
    return email


def _new_user(email: str, display_name: str | None, password_hash: str, **fields) -> User:
    user = User(
        email=email,
        display_name=(display_name or email.split("@")[0])[:80],
        password_hash=password_hash,
        **fields,
    )
    db.session.add(user)
    db.session.flush()  # its id, for the email; a duplicate address fails here
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
