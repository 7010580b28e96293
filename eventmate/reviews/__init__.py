"""Reviews by members who attended."""

from flask import Blueprint

bp = Blueprint("reviews", __name__)

from eventmate.reviews import routes  # noqa: E402,F401  (registers the views on bp)
