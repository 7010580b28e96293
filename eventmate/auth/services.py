"""Creating and changing user accounts. Services own their transactions."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from eventmate.extensions import db
from eventmate.models import User, normalise_email

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A user-facing reason an account could not be created or changed."""


def clean_email(raw: str) -> str:
    """A normalised email address, or AccountError saying what is wrong with it."""
    email = normalise_email(raw or "")
    if not email:
        raise AccountError("Enter an email address.")
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(f"“{raw.strip()[:100]}” is not a valid email address: {error}") from None
    return normalise_email(result.normalized)


def check_password(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip().lower() == email:
        raise AccountError("Your password can't be your email address.")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str,
    password: str,
    display_name: str | None = None,
    *,
    is_host: bool = False,
    is_admin: bool = False,
) -> User:
    email = clean_email(email)
    check_password(password, email)
    if user_by_email(email) is not None:
        raise AccountError(f"An account for {email} already exists.")
    user = User(
        email=email,
        display_name=(display_name or email.split("@")[0])[:80],
        password_hash=hash_password(password),
        is_host=is_host or is_admin,
        is_admin=is_admin,
    )
    db.session.add(user)
    db.session.commit()
    return user
