"""What members are told about a change of address (eventmate/notifications). The link is made
when the email is sent, so it lasts its full time from then (eventmate/auth/tokens.py)."""

from __future__ import annotations

from flask import current_app, url_for

from eventmate.account.services import EMAIL_CHANGE, EMAIL_CHANGED, EMAIL_IN_USE
from eventmate.auth.emails import lasting
from eventmate.auth.tokens import email_change_token
from eventmate.extensions import db
from eventmate.models import OutboxMessage, User
from eventmate.notifications.messages import Draft, composer


def _active(message: OutboxMessage) -> User | None:
    user = db.session.get(User, message.user_id) if message.user_id else None
    return user if user is not None and user.is_active else None


@composer(EMAIL_CHANGE)
def email_change(message: OutboxMessage) -> Draft | None:
    """To the new address: the link that moves the account there."""
    user = _active(message)
    if user is None or user.email == message.to_address:
        return None
    link = url_for("account.confirm_email", key=email_change_token(user, message.to_address),
                   _external=True)  # fmt: skip
    return Draft(
        f"Confirm your new email address for {current_app.config['SITE_NAME']}",
        EMAIL_CHANGE,
        {
            "name": user.display_name,
            "confirm_url": link,
            "valid_for": lasting(current_app.config["EMAIL_CHANGE_SECONDS"]),
        },
    )


@composer(EMAIL_IN_USE)
def email_in_use(message: OutboxMessage) -> Draft | None:
    """To an address that has an account, which someone asked to move theirs to: its owner
    learns of it, and the page they saw said only "check your inbox"."""
    owner = _active(message)
    if owner is None or owner.email != message.to_address:
        return None
    return Draft(
        "Someone tried to use your email address",
        EMAIL_IN_USE,
        {"name": owner.display_name, "reset_url": url_for("auth.forgot_password", _external=True)},
    )


@composer(EMAIL_CHANGED)
def email_changed(message: OutboxMessage) -> Draft | None:
    """To the old address, once the account has moved: a warning if it wasn't the owner."""
    user = _active(message)
    if user is None:
        return None
    return Draft(
        f"Your {current_app.config['SITE_NAME']} email address was changed",
        EMAIL_CHANGED,
        {"name": user.display_name, "new_address": masked((message.details or {}).get("new", ""))},
    )


def masked(address: str) -> str:
    """Enough of an address to recognise it, not to write to it: "m…@example.com"."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"
