"""iCalendar feeds: one event, and a member's private bookings feed."""

from flask import Blueprint

bp = Blueprint("calendars", __name__)

from eventmate.calendars import routes  # noqa: E402,F401  (registers the views on bp)
