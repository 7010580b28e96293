"""Changing one's own account: name, password, email address. Services own their commits.

Each change that needs the current password checks it first, with no pooled connection held
while hashing (auth.services.release_connection), then locks the member's row and makes sure
the password hash is still the one checked, so a change made meanwhile elsewhere (a reset
link) wins over a password that is no longer the account's.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eventmate.auth.hashing import hash_password, password_matches
from eventmate.auth.services import (
    AccountError,
    check_password,
    clean_email,
    release_connection,
    user_by_email,
)
from eventmate.auth.tokens import Link, digest
from eventmate.caching import invalidate_event
from eventmate.extensions import db
from eventmate.models import Event, Review, User, utcnow
from eventmate.notifications import outbox

# The outbox kinds (eventmate/account/emails.py).
EMAIL_CHANGE = "email_change"  # the link, to the new address
EMAIL_IN_USE = "email_in_use"  # the new address has an account: its owner is told instead
EMAIL_CHANGED = "email_changed"  # the notice to the old address, once the link is used


class WrongPassword(AccountError):
    """The current password given isn't the account's."""


def change_display_name(user: User, name: str) -> str:
    """Give the member a new display name (spaces tidied). Commits; returns it."""
    name = " ".join(name.split())[:80]
    if not name:
        raise AccountError("Enter your name.")
    user.display_name = name
    db.session.commit()
    invalidate_event(*_pages_showing(user.id))  # reviews and "Hosted by" show the name
    return name


def _pages_showing(user_id: int) -> list[str]:
    """The slugs of the events whose pages show the member's name."""
    hosted = select(Event.slug).where(Event.host_id == user_id)
    reviewed = select(Event.slug).join(Review, Review.event_id == Event.id)
    return list(db.session.scalars(hosted.union(reviewed.where(Review.user_id == user_id))))


def checked_password(user: User, password: str) -> str:
    """The member's password hash, if `password` is their current password; else
    AccountError. Releases the connection first: nothing is held while hashing."""
    password_hash = user.password_hash
    release_connection()
    if not password_matches(password_hash, password):
        raise WrongPassword("That isn't your current password.")
    return password_hash


def locked_member(user_id: int, password_hash: str) -> User:
    """The member's row, locked until the commit, still with the password hash checked; else
    AccountError (rolled back)."""
    user = db.session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None or not user.is_active or user.password_hash != password_hash:
        db.session.rollback()
        raise AccountError("Your password was changed meanwhile. Sign in again and retry.")
    return user


def change_password(user: User, current: str, new: str) -> User:
    """Replace the member's password, after checking the current one and the new one's rules
    (AccountError otherwise). Every session of the account ends (session_generation), this
    one too: the caller signs it in again. Commits."""
    check_password(new, user.email, user.display_name)
    if new == current:
        raise AccountError("Choose a password different from your current one.")
    user_id = user.id
    old_hash = checked_password(user, current)
    new_hash = hash_password(new)
    user = locked_member(user_id, old_hash)
    user.password_hash = new_hash
    user.session_generation += 1
    db.session.commit()
    return user


def request_email_change(user: User, password: str, new_address: str) -> str:
    """Email a link that moves the account to `new_address`, after checking the password.
    Nothing changes until the link is used. An address that has an account already is
    answered alike (no telling which addresses have accounts): its owner is told someone asked,
    and nothing else happens. AccountError for the member's own or an unusable address, or a
    wrong password. Commits; returns the address as cleaned."""
    new_address = clean_email(new_address)
    if new_address == user.email:
        raise AccountError("That is your address already.")
    user_id = user.id
    checked_password(user, password)
    owner = user_by_email(new_address)
    kind, about = (EMAIL_CHANGE, user_id) if owner is None else (EMAIL_IN_USE, owner.id)
    message_id = outbox.queue(
        kind, f"{kind}:{user_id}:{secrets.token_hex(8)}", new_address, user_id=about
    )  # fmt: skip
    db.session.commit()
    outbox.dispatch([message_id])
    return new_address


def confirm_email_change(link: Link) -> User | None:
    """Move the account of a valid link to its new address (confirmed: the link proved it) and
    tell the old address. None if the link stopped applying meanwhile (followed twice at once:
    the row's lock lets one through); AccountError if the address has an account by now.
    Commits."""
    user = db.session.get(User, link.user.id, with_for_update=True, populate_existing=True)
    if user is None or not user.is_active or digest(user.email) != link.fingerprint:
        db.session.rollback()
        return None
    taken = AccountError(f"{link.address} has an account by now, so yours can't move to it.")
    if user_by_email(link.address) is not None:
        db.session.rollback()
        raise taken
    user_id, old_address = user.id, user.email
    try:
        user.email, user.email_verified_at = link.address, utcnow()
        notice = outbox.queue(
            EMAIL_CHANGED, f"{EMAIL_CHANGED}:{user_id}:{secrets.token_hex(8)}", old_address,
            user_id=user_id, details={"new": link.address},
        )  # fmt: skip
        db.session.commit()
    except IntegrityError:  # the address registered at this very moment
        db.session.rollback()
        raise taken from None
    outbox.dispatch([notice])
    return user
