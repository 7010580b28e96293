from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, Regexp
from wtforms.widgets import HiddenInput

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
    """Cancelling seats of a booking, from its confirmation page: how many (all when left out)
    and the booking's quantity as the member saw it, so a form sent twice cancels once."""

    seats = SelectField("Seats to cancel", coerce=int, validate_choice=False,
                        validators=[Optional(), NumberRange(min=1)])  # fmt: skip
    # (Bounded: a number past the column's range is a form error, not a database one.)
    seen = IntegerField(widget=HiddenInput(),
                        validators=[Optional(), NumberRange(min=1, max=2_147_483_647)])  # fmt: skip

    @classmethod
    def for_booking(cls, quantity: int, **kwargs) -> CancelForm:
        form = cls(**kwargs)
        form.seats.choices = [(n, f"{n} of {quantity}") for n in range(quantity, 0, -1)]
        if form.seen.data is None:
            form.seen.data = quantity
        return form
