"""The signed links in account emails: confirming an address, resetting a password, moving an
account to a new address.

A link is made when its email is sent (by the composer, eventmate/auth/emails.py), so its
lifetime starts then, and nothing about it is stored: what makes it single-use is in what it
signs. Each kind has its own salt, so one kind can't stand in for the other.
- Confirming an address signs the user's id and a digest of the address it was sent to. It
  lasts EMAIL_VERIFY_SECONDS; once the account is confirmed it does nothing more, and for an
  address the account no longer has it is invalid.
- Resetting a password signs the user's id and a digest of the password hash at sending. It
  lasts PASSWORD_RESET_SECONDS; once the password hash changes (this link or another used, or a
  sign-in upgrading an old hash) it no longer matches, so it works once.
- Moving to a new address (eventmate/account/) signs the user's id, a digest of the address
  the account had at sending and the new address itself (the link goes only to that address).
  It lasts EMAIL_CHANGE_SECONDS; once the account's address changes (this link or another
  used) the digest no longer matches, so it works once.
The token travels as `?key=`, which the access logs blank (gunicorn.conf.py, deploy/nginx/).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from eventmate.extensions import db
from eventmate.models import User

VERIFY_SALT = "eventmate-verify-email"
RESET_SALT = "eventmate-password-reset"
EMAIL_CHANGE_SALT = "eventmate-email-change"
MAX_TOKEN_LENGTH = 500  # ours are ~80 characters; anything much longer isn't worth checking

VALID = "valid"
EXPIRED = "expired"
USED = "used"  # the address is confirmed already; the password has changed since
INVALID = "invalid"  # not ours, tampered with, or for an account or address that is gone


@dataclass(frozen=True)
class Link:
    """What a link's token says: its state, and the member it is for (None if INVALID)."""

    state: str
    user: User | None = None
    fingerprint: str = ""  # the digest it signed (the address, or the password hash)
    address: str = ""  # the new address of an email-change link


def digest(value: str) -> str:
    """A short digest of an address or a password hash: signed, so it needn't be secret; the
    link then doesn't carry the address itself into browser histories."""
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def verification_token(user: User) -> str:
    return _serializer(VERIFY_SALT).dumps([user.id, digest(user.email)])


def reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps([user.id, digest(user.password_hash)])


def email_change_token(user: User, new_address: str) -> str:
    return _serializer(EMAIL_CHANGE_SALT).dumps([user.id, digest(user.email), new_address])


def _read(salt: str, token: str, max_age: int) -> tuple[list | None, bool]:
    """(payload, expired). The payload is None unless the signature is ours; an expired one
    still says whom it was for, so a used link can say so rather than "expired"."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None, False
    serializer = _serializer(salt)
    try:
        return serializer.loads(token, max_age=max_age), False
    except SignatureExpired as expired:
        if expired.payload is None:
            return None, True
        try:
            return serializer.load_payload(expired.payload), True
        except BadData:
            return None, True
    except BadData:
        return None, False


def _user(payload: list | None) -> tuple[User | None, str]:
    """The active member a well-formed payload names, and the digest it carries."""
    if not isinstance(payload, list) or len(payload) != 2:
        return None, ""
    user_id, fingerprint = payload
    if type(user_id) is not int or not isinstance(fingerprint, str):
        return None, ""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return None, ""
    return user, fingerprint


def read_verification(token: str) -> Link:
    payload, expired = _read(VERIFY_SALT, token, current_app.config["EMAIL_VERIFY_SECONDS"])
    user, fingerprint = _user(payload)
    if user is None or fingerprint != digest(user.email):
        return Link(INVALID)
    if user.is_verified:
        return Link(USED, user, fingerprint)
    return Link(EXPIRED if expired else VALID, user, fingerprint)


def read_reset(token: str) -> Link:
    payload, expired = _read(RESET_SALT, token, current_app.config["PASSWORD_RESET_SECONDS"])
    user, fingerprint = _user(payload)
    if user is None:
        return Link(INVALID)
    if fingerprint != digest(user.password_hash):
        return Link(USED, user, fingerprint)
    return Link(EXPIRED if expired else VALID, user, fingerprint)


def read_email_change(token: str) -> Link:
    max_age = current_app.config["EMAIL_CHANGE_SECONDS"]
    payload, expired = _read(EMAIL_CHANGE_SALT, token, max_age)
    if not isinstance(payload, list) or len(payload) != 3 or not isinstance(payload[2], str):
        return Link(INVALID)
    user, fingerprint = _user(payload[:2])
    if user is None:
        return Link(INVALID)
    address = payload[2]
    if fingerprint != digest(user.email):
        return Link(USED, user, fingerprint, address)
    return Link(EXPIRED if expired else VALID, user, fingerprint, address)
