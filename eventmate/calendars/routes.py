from __future__ import annotations

from flask import Response, abort, current_app, request
from flask_login import current_user

from eventmate.bookings.queries import all_bookings_for_user
from eventmate.calendars import bp
from eventmate.calendars.feeds import bookings_calendar, event_calendar, user_id_from_feed_key
from eventmate.events import queries as event_queries
from eventmate.extensions import db
from eventmate.models import User

ICS_MIMETYPE = "text/calendar"


@bp.get("/events/<slug:slug>/calendar.ics")
def event_ics(slug: str):
    event = event_queries.active_event_by_slug(slug)
    if event is None:
        abort(404)
    return _ics(event_calendar(event), f"{slug}.ics")


@bp.get("/me/bookings.ics")
def bookings_ics():
    """The member's bookings: by session, or by the signed key that calendar apps use."""
    if not request.args.get("key") and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    user = _feed_owner()
    if user is None:
        abort(404)
    bookings = all_bookings_for_user(user.id)
    response = _ics(bookings_calendar(bookings, user.display_name), "bookings.ics")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _feed_owner() -> User | None:
    key = request.args.get("key")
    if key:
        user_id = user_id_from_feed_key(key, current_app.config["SECRET_KEY"])
        user = db.session.get(User, user_id) if user_id else None
        return user if user is not None and user.is_active else None
    return current_user if current_user.is_authenticated else None


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype=ICS_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
