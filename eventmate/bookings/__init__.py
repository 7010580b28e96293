from flask import Blueprint

bp = Blueprint("bookings", __name__)

from eventmate.bookings import routes  # noqa: E402,F401  (registers the views on bp)
