from __future__ import annotations

from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from eventmate.auth.forms import (
    as_form_error,
    display_name_field,
    new_password_field,
    repeat_password_field,
)
from eventmate.auth.services import MAX_PASSWORD_LENGTH, check_password, clean_email
from eventmate.forms import Form


def current_password_field(id_: str) -> PasswordField:
    """`id_`: the account page has two of these, and ids must be unique on a page."""
    return PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)], id=id_
    )


class NameForm(Form):
    display_name = display_name_field()


class PasswordForm(Form):
    """The new password is checked with the registration rules, against the member's own
    address and name (`member`, set by the view)."""

    current_password = current_password_field("password-current")
    password = new_password_field("New password")
    confirm = repeat_password_field()

    def __init__(self, *args, member=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.member = member

    def validate_password(self, field: PasswordField) -> None:
        if not field.errors and self.member is not None:
            as_form_error(check_password, field.data, self.member.email, self.member.display_name)


class EmailForm(Form):
    email = EmailField("New email address", validators=[DataRequired(), Length(max=254)])
    current_password = current_password_field("email-current")

    def validate_email(self, field: EmailField) -> None:
        if not field.errors:
            as_form_error(clean_email, field.data)


class DeleteForm(Form):
    current_password = current_password_field("current_password")


def field_error(field, message: str) -> None:
    """Add a service's error to the field it is about."""
    field.errors = [*field.errors, message]
