from flask import Blueprint

from eventmate.bookings.standing import standing

bp = Blueprint("bookings", __name__)
bp.add_app_template_global(standing, "booking_standing")

from eventmate.bookings import routes  # noqa: E402,F401  (registers the views on bp)
