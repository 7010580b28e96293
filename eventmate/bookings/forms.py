from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField


class BookingForm(FlaskForm):
    # Parsed by services.parse_quantity, which explains every bad value.
    quantity = StringField("Seats")
    request_token = HiddenField()


class CancelForm(FlaskForm):
    """Cancelling changes state: a POST with a CSRF token."""
