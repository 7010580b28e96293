"""Becoming a host from the site (accepting the host terms), and an administrator suspending
someone's hosting, which the site then won't let them take back."""

from __future__ import annotations

from datetime import datetime

from eventmate.auth.services import AccountError, user_by_email
from eventmate.extensions import db
from eventmate.hosts.services import hosted_events_changed, list_hosted_events
from eventmate.models import User, normalise_email


class HostingRefused(Exception):
    """The member may not become a host (an administrator suspended their hosting)."""


SUSPENDED = (
    "An administrator has suspended your hosting, so you can't list events. Your bookings and "
    "your account are unaffected."
)


def become_host(user: User, now: datetime) -> None:
    """The member accepted the host terms: they may list events from now on. Commits."""
    user = db.session.get(User, user.id)
    if user.hosting_suspended_at is not None:
        raise HostingRefused(SUSPENDED)
    if not user.is_host:
        user.is_host, user.host_terms_accepted_at = True, now
    db.session.commit()


def set_hosting_suspended(email: str, suspended: bool, now: datetime) -> tuple[User, int]:
    """Take someone's hosting away (their events leave the site, bookings kept) or give it
    back (their events are listed again where nothing else keeps them off). Returns the user
    and how many events they host. Commits once."""
    user = user_by_email(email)
    if user is None:
        raise AccountError(f"There is no account for {normalise_email(email)}.")
    user.hosting_suspended_at = now if suspended else None
    user.is_host = not suspended
    slugs = list_hosted_events(user, not suspended and user.is_active)
    db.session.commit()
    hosted_events_changed(slugs)
    return user, len(slugs)
