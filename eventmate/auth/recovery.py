"""A forgotten password: the emailed link (eventmate/auth/tokens.py) and setting a new one.

Asking never tells whether an address has an account: the page answers the same, and only an
active account's address is sent anything (the view also spends the address's budget first,
eventmate/security/limits.py). A new password ends every session of the account (its
session_generation, eventmate/auth/sessions.py) and confirms the address: the link proved it.
"""

from __future__ import annotations

import secrets

from eventmate.auth.services import check_password, hash_password, release_connection, user_by_email
from eventmate.auth.tokens import Link, digest
from eventmate.extensions import db
from eventmate.models import User, utcnow
from eventmate.notifications import outbox

PASSWORD_RESET = "password_reset"  # the outbox kind (eventmate/auth/emails.py)


def send_reset_link(email: str) -> None:
    """Email a reset link to the account with this address, if it is active; else nothing.
    Commits."""
    user = user_by_email(email)
    if user is None or not user.is_active:
        return
    message_id = outbox.queue(PASSWORD_RESET, f"password-reset:{user.id}:{secrets.token_hex(8)}",
                              user.email, user_id=user.id)  # fmt: skip
    db.session.commit()
    outbox.dispatch([message_id])


def set_new_password(link: Link, password: str) -> User | None:
    """Give the account of a valid reset link this password (AccountError if the rules refuse
    it), end all its sessions and confirm its address. None if the link stopped applying
    meanwhile (used at the same moment from elsewhere: the row's lock lets one through).
    Commits."""
    check_password(password, link.user.email, link.user.display_name)
    user_id = link.user.id
    release_connection()  # no pooled connection held while hashing
    password_hash = hash_password(password)
    user = db.session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None or not user.is_active or digest(user.password_hash) != link.fingerprint:
        db.session.rollback()
        return None
    user.password_hash = password_hash
    user.session_generation += 1  # every session signed in before (other browsers too) ends
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    db.session.commit()
    return user
