"""What members are told about their accounts (eventmate/notifications). The links are made
here, when the email is sent, so each lasts its full time from then (eventmate/auth/tokens.py).
"""

from __future__ import annotations

from flask import current_app, url_for

from eventmate.auth.recovery import PASSWORD_RESET
from eventmate.auth.services import ACCOUNT_EXISTS
from eventmate.auth.sessions import safe_next_url
from eventmate.auth.tokens import reset_token, verification_token
from eventmate.auth.verification import VERIFY_EMAIL
from eventmate.extensions import db
from eventmate.models import OutboxMessage, User
from eventmate.notifications.messages import Draft, composer


def _member(message: OutboxMessage) -> User | None:
    """The active account the message is for, still at the address it was queued for."""
    user = db.session.get(User, message.user_id) if message.user_id else None
    if user is None or not user.is_active or user.email != message.to_address:
        return None
    return user


def lasting(seconds: int) -> str:
    """How long a link lasts, in words: "3 days", "1 hour", "90 minutes"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = seconds // size
        if count and (seconds % size == 0 or unit == "minute"):
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "a minute"


@composer(VERIFY_EMAIL)
def verify_email(message: OutboxMessage) -> Draft | None:
    """Not once the address is confirmed (by an earlier link) or no longer the account's."""
    user = _member(message)
    if user is None or user.is_verified:
        return None
    next_url = safe_next_url((message.details or {}).get("next"))
    link = url_for("auth.verify_email", key=verification_token(user), next=next_url,
                   _external=True)  # fmt: skip
    return Draft(
        f"Confirm your email address for {current_app.config['SITE_NAME']}",
        VERIFY_EMAIL,
        {
            "name": user.display_name,
            "verify_url": link,
            "valid_for": lasting(current_app.config["EMAIL_VERIFY_SECONDS"]),
        },
    )


@composer(ACCOUNT_EXISTS)
def account_exists(message: OutboxMessage) -> Draft | None:
    """Someone signed up with an address that has an account: its owner is told, and the page
    they saw said only "check your inbox" (no telling whether an address has an account)."""
    user = _member(message)
    if user is None:
        return None
    return Draft(
        "Someone tried to sign up with your email address",
        ACCOUNT_EXISTS,
        {
            "name": user.display_name,
            "verified": user.is_verified,
            "login_url": url_for("auth.login", _external=True),
            "reset_url": url_for("auth.forgot_password", _external=True),
        },
    )


@composer(PASSWORD_RESET)
def password_reset(message: OutboxMessage) -> Draft | None:
    user = _member(message)
    if user is None:
        return None
    link = url_for("auth.reset_password", key=reset_token(user), _external=True)
    return Draft(
        f"Reset your {current_app.config['SITE_NAME']} password",
        PASSWORD_RESET,
        {
            "name": user.display_name,
            "reset_url": link,
            "valid_for": lasting(current_app.config["PASSWORD_RESET_SECONDS"]),
        },
    )
