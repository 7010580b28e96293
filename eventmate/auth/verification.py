"""Confirming a member's email address: the emailed link, sending it again, and the rule that
booking and reviewing need a confirmed address (an account made through the site starts
unconfirmed; one made by an admin with `flask users create` is confirmed)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import abort, make_response, render_template, request
from flask_login import current_user

from eventmate.auth.sessions import safe_next_url
from eventmate.auth.tokens import Link, digest
from eventmate.extensions import db
from eventmate.models import User, utcnow
from eventmate.notifications import outbox

VERIFY_EMAIL = "verify_email"  # the outbox kind (eventmate/auth/emails.py)


def require_verified() -> None:
    """At the top of a view that books or reviews: a signed-in member whose address isn't
    confirmed yet gets a 403 page saying so, with the button to send the link again, and the
    view goes no further (nothing is written)."""
    if current_user.is_authenticated and not current_user.is_verified:
        page = render_template("auth/unverified.html", back=_came_from())
        abort(make_response(page, 403))


def _came_from() -> str:
    """The page the refused form was on (this site's only), to return to after a resend."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return ""
    return safe_next_url(referrer.path + (f"?{referrer.query}" if referrer.query else "")) or ""


def queue_verification(user: User, next_url: str | None = None) -> int:
    """Add the email with the link to the caller's transaction; returns its outbox id (for
    `outbox.dispatch` after the commit). The link itself is made when the email is sent."""
    return outbox.queue(
        VERIFY_EMAIL, f"verify:{user.id}:{secrets.token_hex(8)}", user.email, user_id=user.id,
        details={"next": next_url} if next_url else {},
    )  # fmt: skip


def send_verification(user: User, next_url: str | None = None) -> None:
    """Email the member a (new) link to confirm their address. Commits."""
    message_id = queue_verification(user, next_url)
    db.session.commit()
    outbox.dispatch([message_id])


def confirm_email(link: Link) -> User | None:
    """Mark the account of a valid link confirmed; None if it is no longer unconfirmed at that
    address (the same link followed twice at once: the row's lock lets one through). Commits."""
    user = db.session.get(User, link.user.id, with_for_update=True, populate_existing=True)
    if user is None or user.is_verified or digest(user.email) != link.fingerprint:
        db.session.rollback()
        return None
    user.email_verified_at = utcnow()
    db.session.commit()
    return user
