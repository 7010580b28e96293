"""Public profile pages: a host's upcoming events, past events with their ratings, and what
attendees wrote about them."""

from flask import Blueprint

bp = Blueprint("profiles", __name__)

from eventmate.profiles import routes  # noqa: E402,F401  (registers the views on bp)
