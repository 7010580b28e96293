from __future__ import annotations

from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from eventmate.auth.services import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountError,
    check_password,
    clean_email,
)
from eventmate.forms import Form
from eventmate.models import normalise_email

PASSWORD_LENGTH_RULE = (
    f"Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters; a short phrase works well."
)


def new_password_field(label: str = "Password") -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH, message=PASSWORD_LENGTH_RULE),
        ],
        description=f"{PASSWORD_LENGTH_RULE} Not your email, not a common password.",
    )


def repeat_password_field(password: str = "password") -> PasswordField:
    """The new password again; `password` names the field it must match."""
    return PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo(password, message="The passwords don't match.")],
    )


def display_name_field(label: str = "Your name") -> StringField:
    """A member's name as others see it (registration, the account page)."""
    return StringField(label, validators=[DataRequired(), Length(max=80)])


class RegisterForm(Form):
    """Every field is checked, with the account rules the service applies again, so one
    submission shows every mistake at once."""

    display_name = display_name_field()
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = new_password_field()
    confirm = repeat_password_field()
    next = HiddenField()

    def validate_email(self, field: EmailField) -> None:
        if not field.errors:
            as_form_error(clean_email, field.data)

    def validate_password(self, field: PasswordField) -> None:
        if not field.errors:  # the length rule has already spoken
            email = normalise_email(self.email.data or "")
            as_form_error(check_password, field.data, email, self.display_name.data or "")


def as_form_error(rule, *args) -> None:
    try:
        rule(*args)
    except AccountError as error:
        raise ValidationError(str(error)) from None


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    next = HiddenField()


class LogoutForm(Form):
    """Logging out changes state, so it is a POST with a CSRF token."""


class ResendVerificationForm(Form):
    """Sending the link again, for a signed-in member whose address isn't confirmed yet."""

    next = HiddenField()


class ForgotPasswordForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(Form):
    password = new_password_field("New password")
    confirm = repeat_password_field()
    key = HiddenField()  # the emailed link's token, posted rather than kept in the URL
