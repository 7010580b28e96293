"""Helpers for the account tests (tests/test_accounts.py, tests/test_password_reset.py)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.models import User
from tests.conftest import PASSWORD, post_form
from tests.mail import emails_to, site_links_in

NEW_PASSWORD = "a brand new passphrase, quite long"
REGISTRATION = {"display_name": "Ada Lovelace", "email": "ada@example.com",
                "password": PASSWORD, "confirm": PASSWORD}  # fmt: skip


def register(client, **overrides):
    return post_form(client, "/register/", {**REGISTRATION, **overrides})


def page_text(response) -> str:
    """The page without its CSRF tokens (a new one per visitor), and with quotes unescaped."""
    body = response.get_data(as_text=True).replace("&#39;", "'")
    return re.sub(r'name="csrf_token"[^>]*>', "", body)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def account(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def signed_in(client) -> bool:
    return 'action="/logout/"' in client.get("/").get_data(as_text=True)


def link_to(app, address: str, kind: str, path: str) -> str:
    """The one link to `path` in the last email of `kind` to `address`."""
    emails = emails_to(app, address, kind)
    assert emails, f"no {kind} email to {address}"
    links = [link for link in site_links_in(emails[-1]) if link.startswith(path)]
    assert len(links) == 1, links
    return links[0]


def verification_link(app, address: str) -> str:
    return link_to(app, address, "verify_email", "/account/confirm/?key=")


def reset_link(app, address: str) -> str:
    return link_to(app, address, "password_reset", "/password/reset/?key=")
