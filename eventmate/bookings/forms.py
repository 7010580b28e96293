from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import Length, Regexp

from eventmate.models import Booking

# The column's length: a longer token would be a database error (PostgreSQL) at the insert.
REQUEST_TOKEN_LENGTH = Booking.__table__.c.request_token.type.length


class BookingForm(FlaskForm):
    # Parsed by services.parse_quantity, which explains every bad value.
    quantity = StringField("Seats")
    # We issue it (services.new_request_token): URL-safe base64, so anything else is a forgery.
    request_token = HiddenField(
        validators=[Length(max=REQUEST_TOKEN_LENGTH), Regexp(r"[A-Za-z0-9_-]*\Z")]
    )


class CancelForm(FlaskForm):
    """Cancelling changes state: a POST with a CSRF token."""
