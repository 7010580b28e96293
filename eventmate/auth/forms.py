from __future__ import annotations

from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from eventmate.auth.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from eventmate.forms import Form

PASSWORD_LENGTH_RULE = (
    f"Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters; a short phrase works well."
)


class RegisterForm(Form):
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=80)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH, message=PASSWORD_LENGTH_RULE),
        ],
        description=f"{PASSWORD_LENGTH_RULE} Not your email, not a common password.",
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords don't match.")],
    )
    next = HiddenField()


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    next = HiddenField()


class LogoutForm(Form):
    """Logging out changes state, so it is a POST with a CSRF token."""
