"""Who may manage what: hosts their own events, admins every event."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from eventmate.extensions import db
from eventmate.models import Event


def host_required(view):
    """Anonymous → login; a member who is not a host or admin → 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not (current_user.is_host or current_user.is_admin):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def managed_event(slug: str) -> Event:
    """The event if the current host may manage it. Another host's event is a 404, not a 403:
    we don't confirm that someone else's (possibly inactive) listing exists."""
    event = db.session.scalar(
        select(Event)
        .where(Event.slug == slug)
        .options(joinedload(Event.city), selectinload(Event.images))
    )
    if event is None or not (current_user.is_admin or event.host_id == current_user.id):
        abort(404)
    return event
