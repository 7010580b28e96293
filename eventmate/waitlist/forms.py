from flask_wtf import FlaskForm
from wtforms import StringField


class JoinWaitlistForm(FlaskForm):
    # Parsed by bookings.services.parse_quantity, which explains every bad value.
    quantity = StringField("Seats")


class WaitlistActionForm(FlaskForm):
    """Leaving, declining and claiming change state: a POST with a CSRF token."""
