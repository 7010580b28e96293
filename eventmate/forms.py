"""The base of the site's forms: no control characters in the text a visitor types."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import HiddenField

# C0 controls and DEL, except tab and line breaks (which text areas need). PostgreSQL cannot
# store NUL at all (psycopg2 refuses it before sending: a 500), and none of the others belongs
# in a name, an email address, a title or a review.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_CHARACTERS_MESSAGE = "Remove the invisible control characters from this field."


class Form(FlaskForm):
    """A FlaskForm whose visible text fields refuse control characters, with a field error.

    Hidden fields are left to their own checks (a `next` URL is vetted by safe_next_url, a
    booking's request token by its pattern): an error on a field nobody sees would leave the
    visitor stuck on a form that gives no reason."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, HiddenField) or not isinstance(field.data, str):
                continue
            if CONTROL_CHARACTERS.search(field.data):
                field.errors = [*field.errors, CONTROL_CHARACTERS_MESSAGE]
                valid = False
        return valid
