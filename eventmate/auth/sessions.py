"""Who is logged in: Flask-Login wiring and session hygiene around login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, g, session
from flask_login import login_user, logout_user

from eventmate.auth import user_cache
from eventmate.extensions import login_manager
from eventmate.models import User
from eventmate.stores import MEMBER_KEY


def init_login_manager(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    # Flask-Login's own "remember me" cookie is off: sessions are server-side and expire.
    app.config.setdefault("REMEMBER_COOKIE_DURATION", 0)


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    """The member of a session's login id, "user id:session generation" (User.get_id): a
    session from before the generation was bumped (a password reset) is signed out."""
    user_id, _, generation = login_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit()) or g.get("database_unavailable"):
        return None  # (database_unavailable: eventmate/errors.py)
    user = user_cache.load(int(user_id))
    if user is None or not user.is_active or user.session_generation != int(generation):
        return None
    return user


def start_session(user: User) -> None:
    """Log the user in under a fresh session id, so a planted id is worthless (no fixation)."""
    session.permanent = True
    current_app.session_interface.regenerate(session)
    session[MEMBER_KEY] = True  # kept in the server-side store from now on (eventmate/stores)
    login_user(user)


def end_session() -> None:
    """Log out and destroy the server-side session: the old cookie becomes anonymous."""
    logout_user()
    session.clear()


def safe_next_url(target: str | None) -> str | None:
    """`target` if it is a same-site relative path, else None.

    Refuses absolute and scheme-relative URLs (`https://evil.example`, `//evil.example`),
    backslash tricks browsers read as `//` (`/\\evil.example`), and `javascript:` and friends.
    """
    if not target or len(target) > 2000:
        return None
    target = target.strip()
    if any(ord(char) < 32 for char in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
