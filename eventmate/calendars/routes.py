from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from eventmate.bookings.queries import all_bookings_for_user
from eventmate.calendars import bp
from eventmate.calendars.feeds import bookings_calendar, event_calendar, feed_owner_id
from eventmate.calendars.services import reset_calendar_link
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
        user_id = feed_owner_id(key, current_app.config["SECRET_KEY"], _active_generation)
        return db.session.get(User, user_id) if user_id is not None else None
    return current_user if current_user.is_authenticated else None


def _active_generation(user_id: int) -> int | None:
    user = db.session.get(User, user_id)
    return user.calendar_generation if user is not None and user.is_active else None


@bp.post("/me/calendar-link/reset/")
@login_required
def reset_link():
    """A new calendar-feed link for the member; every one given out before stops working.
    (CSRFProtect checks the form's token, as on every POST.)"""
    reset_calendar_link(current_user.id)
    flash("Your calendar link was reset: subscribe again with the new one below. "
          "The old link no longer works.", "success")  # fmt: skip
    return redirect(url_for("bookings.mine"))


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype=ICS_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
