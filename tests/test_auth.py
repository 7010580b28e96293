from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import request as flask_request
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from eventmate.extensions import db
from eventmate.models import User
from tests.conftest import PASSWORD, csrf_token, post_form
from tests.factories import make_member
from tests.mail import emails_to, site_links_in


def register(client, **overrides):
    data = {
        "display_name": "Ada Lovelace",
        "email": "ada@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(overrides)
    return post_form(client, "/register/", data)


def test_register_creates_a_normalised_account_signed_in_by_its_emailed_link(
    app, client, db_session, outbox
):
    response = register(client, email="  Ada@Example.COM ")
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)
    user = db.session.scalar(select(User))
    assert user.email == "ada@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert not user.is_verified
    assert "Log out" not in client.get("/").get_data(as_text=True)

    [email] = emails_to(app, "ada@example.com", "verify_email")
    [link] = [link for link in site_links_in(email) if link.startswith("/account/confirm/")]
    assert client.get(link).status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "Ada Lovelace" in home
    assert "Log out" in home


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "not a valid email address"),
        ({"password": "short", "confirm": "short"}, "Use 10 to 128 characters"),
        ({"password": "ada@example.com", "confirm": "ada@example.com"}, "can&#39;t be your email"),
        ({"password": "password1234", "confirm": "password1234"}, "too common"),
        ({"password": "qwertyuiop", "confirm": "qwertyuiop"}, "too common"),
        ({"confirm": "something else entirely"}, "don&#39;t match"),
        ({"display_name": ""}, "This field is required"),
    ],
)
def test_register_rejects_bad_input_with_a_message(client, db_session, overrides, message):
    response = register(client, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User)) is None


def test_register_shows_every_mistake_at_once(client, db_session):
    response = register(
        client, display_name="", email="not-an-email", password="password1234",
        confirm="something else entirely",
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This field is required" in page  # the name
    assert "not a valid email address" in page
    assert "too common" in page
    assert "don&#39;t match" in page
    assert page.count('aria-invalid="true"') == 4
    assert db.session.scalar(select(User)) is None


def test_register_makes_no_second_account_for_an_existing_email_in_any_case(
    app, client, db_session, outbox
):
    """And says nothing about it on the page (tests/test_accounts.py): the owner is emailed."""
    make_member(email="ada@example.com")
    response = register(client, email="ADA@example.com")
    assert response.status_code == 200
    assert "already" not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert len(emails_to(app, "ada@example.com", "account_exists")) == 1


def test_login_and_logout(client, db_session, login):
    user = make_member(display_name="Grace")
    db_session.commit()
    login(user)
    assert "Grace" in client.get("/").get_data(as_text=True)

    response = post_form(client, "/", {}, action="/logout/")
    assert response.status_code == 302
    assert "Log in" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("email", "password"),
    [("grace@example.com", "wrong password here"), ("nobody@example.com", PASSWORD)],
)
def test_login_failure_does_not_say_which_part_was_wrong(client, db_session, email, password):
    make_member(email="grace@example.com")
    db_session.commit()
    response = post_form(client, "/login/", {"email": email, "password": password})
    assert response.status_code == 400
    assert "don&#39;t match an account" in response.get_data(as_text=True)


def test_inactive_user_cannot_log_in(client, db_session):
    make_member(email="gone@example.com", is_active=False)
    db_session.commit()
    response = post_form(client, "/login/", {"email": "gone@example.com", "password": PASSWORD})
    assert response.status_code == 400


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_login_issues_a_new_session_id(client, db_session, login):
    user = make_member()
    db_session.commit()
    client.set_cookie("session", "planted-by-an-attacker")  # session fixation attempt
    csrf_token(client, "/login/")
    assert session_cookie(client) is None  # a cookie with no stored session is dropped
    client.set_cookie("session", "planted-by-an-attacker")  # and planted again
    login(user)
    after = session_cookie(client)
    assert after
    assert after != "planted-by-an-attacker"
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_login_never_keeps_a_stored_session_id(app, client, db_session, login):
    """An id the store already holds without a member (e.g. from before visitors' sessions
    moved to cookies) is not signed in under: the store gives a new one."""
    store = app.extensions["session_store"]
    with app.test_request_context("/"):
        planted = store.open_session(app, flask_request)
        planted["note"] = "planted"
        planted.modified = True
        response = app.response_class()
        store.save_session(app, planted, response)
    planted_id = planted.sid
    user = make_member()
    db_session.commit()
    client.set_cookie("session", planted_id)
    login(user)
    assert session_cookie(client) != planted_id
    assert "Log out" in client.get("/").get_data(as_text=True)
    replay = app.test_client()
    replay.set_cookie("session", planted_id)
    assert "Log out" not in replay.get("/").get_data(as_text=True)


def test_a_member_cookie_without_a_session_is_removed(client, db_session):
    """(Expired, or from before visitors' sessions moved to cookies.) Left in place, it would
    make the edge pass every page of this visitor's to the app."""
    client.set_cookie("session", "no-such-session")
    response = client.get("/")
    assert response.status_code == 200
    assert client.get_cookie("session") is None
    assert "Log in" in response.get_data(as_text=True)


def stored_sessions(app) -> int:
    """Sessions in the server-side store (files for the embedded default, or Redis keys)."""
    config = app.config
    if config["SESSION_TYPE"] == "redis":
        keys = config["SESSION_REDIS"].scan_iter(f"{config['SESSION_KEY_PREFIX']}*")
        return len(list(keys))
    folder = Path(config["SESSION_CACHELIB_DIR"])
    return len(list(folder.iterdir())) if folder.exists() else 0


def test_visitors_store_no_session_on_the_server(app, db_session, login):
    """A flood of anonymous requests (each given a CSRF token) can't fill the session store and
    push members out: a visitor's session is a signed cookie; a member's is stored."""
    before = stored_sessions(app)
    for _ in range(20):
        visitor = app.test_client()
        for path in ("/login/", "/register/", "/", "/events/?q=x"):
            assert visitor.get(path).status_code == 200
        assert visitor.get_cookie("visitor_session") is not None  # the CSRF token is in it
        assert visitor.get_cookie("session") is None
    assert stored_sessions(app) == before
    # A visitor's form still works: the token in the cookie is checked.
    visitor = app.test_client()
    response = post_form(visitor, "/login/", {"email": "nobody@example.com", "password": "x" * 12})
    assert response.status_code == 400
    assert "match an account" in response.get_data(as_text=True)
    # Signing in moves the session to the store; signing out takes it out again, keeping the
    # "logged out" flash in the visitor's cookie.
    make_member(email="stored@example.com")
    db_session.commit()
    member = app.test_client()
    token = csrf_token(member, "/login/")
    response = member.post("/login/", data={"csrf_token": token, "email": "stored@example.com",
                                            "password": PASSWORD})  # fmt: skip
    assert response.status_code == 302
    assert stored_sessions(app) == before + 1
    assert member.get_cookie("visitor_session") is None
    post_form(member, "/", {}, action="/logout/")
    assert stored_sessions(app) == before
    assert "You're logged out" in member.get("/").get_data(as_text=True).replace("&#39;", "'")


def test_browsing_signed_in_does_not_rewrite_the_session(client, db_session, login):
    """The session is stored when it changes, not again (with a new cookie) on every page."""
    user = make_member()
    db_session.commit()
    login(user)
    client.get("/me/bookings/")  # the sign-in's flash is shown and cleared: a change
    for path in ("/", "/events/", "/me/bookings/"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path


def test_logout_destroys_the_server_side_session(app, client, db_session, login):
    user = make_member(display_name="Replay Target")
    db_session.commit()
    login(user)
    old_cookie = session_cookie(client)
    post_form(client, "/", {}, action="/logout/")

    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    page = replay.get("/").get_data(as_text=True)
    assert "Replay Target" not in page
    assert "Log in" in page


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,hi",
        " //evil.example",
        "/\t/evil.example",
        "///evil.example",
    ],
)
def test_login_next_only_accepts_same_site_paths(client, db_session, target):
    user = make_member()
    db_session.commit()
    response = post_form(
        client, "/login/", {"email": user.email, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil" not in location
    assert not location.lower().startswith(("javascript", "data"))


def test_login_next_follows_a_relative_path(client, db_session):
    user = make_member()
    db_session.commit()
    response = post_form(
        client, "/login/", {"email": user.email, "password": PASSWORD, "next": "/events/?q=jazz"}
    )
    assert response.headers["Location"] == "/events/?q=jazz"


@pytest.fixture
def transaction_during_hashing(monkeypatch):
    """Whether the request's session held a transaction (a pooled connection) at each hash."""
    from eventmate.auth import services

    seen = []
    for name in ("password_matches", "hash_password"):
        real = getattr(services, name)

        def spy(*args, real=real):
            seen.append(db.session().in_transaction())
            return real(*args)

        monkeypatch.setattr(services, name, spy)
    return seen


@pytest.mark.parametrize("password", [PASSWORD, "wrong password here"])
def test_login_holds_no_database_connection_while_checking_the_password(
    client, db_session, transaction_during_hashing, password
):
    make_member(email="grace@example.com", display_name="Grace")
    db_session.commit()
    transaction_during_hashing.clear()  # the factory's own hash

    response = post_form(client, "/login/", {"email": "grace@example.com", "password": password})

    assert response.status_code == (302 if password == PASSWORD else 400)
    assert transaction_during_hashing == [False]
    if password == PASSWORD:
        assert "Grace" in client.get("/").get_data(as_text=True)


def test_registering_holds_no_database_connection_while_hashing(
    app, client, db_session, transaction_during_hashing
):
    response = register(client, email="new@example.com")
    assert response.status_code == 200
    assert transaction_during_hashing == [False]
    assert db.session.scalar(select(User).where(User.email == "new@example.com")) is not None
    # An address with an account costs the same hash (no telling them apart by time).
    again = register(app.test_client(), email="new@example.com")
    assert again.status_code == 200
    assert transaction_during_hashing == [False, False]


def make_old_account(method: str) -> User:
    from werkzeug.security import generate_password_hash

    user = make_member(email="old@example.com")
    user.password_hash = generate_password_hash(PASSWORD, method=method)
    db.session.commit()
    return user


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256"])
def test_an_older_werkzeug_hash_signs_in_and_is_upgraded_to_argon2id(
    client, db_session, transaction_during_hashing, method
):
    user = make_old_account(method)
    transaction_during_hashing.clear()

    wrong = post_form(client, "/login/", {"email": "old@example.com", "password": "not it at all"})
    assert wrong.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash.startswith(method.split(":")[0])

    response = post_form(client, "/login/", {"email": "old@example.com", "password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded.startswith("$argon2id$")
    # checking the wrong and the right password, then the new hash: never with a connection
    assert transaction_during_hashing == [False, False, False]
    post_form(client, "/", {}, action="/logout/")
    again = post_form(client, "/login/", {"email": "old@example.com", "password": PASSWORD})
    assert again.status_code == 302


def test_a_hash_upgrade_that_cannot_be_stored_still_signs_in(client, db_session, monkeypatch):
    user = make_old_account("scrypt")
    real_commit, commits = db.session.commit, []

    def commit_failing_the_upgrade():
        commits.append(1)
        if len(commits) == 2:  # the first ends the lookup's transaction; then the upgrade
            raise OperationalError("UPDATE users", {}, Exception("statement timeout"))
        real_commit()

    monkeypatch.setattr(db.session, "commit", commit_failing_the_upgrade)
    response = post_form(client, "/login/", {"email": "old@example.com", "password": PASSWORD})
    monkeypatch.undo()

    assert response.status_code == 302
    assert len(commits) >= 2
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash.startswith("scrypt:")  # next time


def test_an_unknown_email_costs_a_password_check_too(client, db_session, monkeypatch):
    """Timing must not tell which emails have accounts: a miss is checked against a dummy
    Argon2id hash, as a wrong password is against the real one."""
    from eventmate.auth import services

    checked: list[str] = []
    real = services.password_matches

    def counting(stored: str, given: str) -> bool:
        checked.append(stored)
        return real(stored, given)

    monkeypatch.setattr(services, "password_matches", counting)
    make_member(email="known@example.com")
    db_session.commit()
    for email in ("known@example.com", "unknown@example.com"):
        response = post_form(client, "/login/", {"email": email, "password": "wrong password!"})
        assert response.status_code == 400
    assert len(checked) == 2
    assert all(stored.startswith("$argon2id$") for stored in checked)


def test_a_session_lasts_24_hours(app, client, db_session, login):
    import time_machine

    signed_in_at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    user = make_member(display_name="Day Tripper")
    db_session.commit()
    with time_machine.travel(signed_in_at, tick=False):
        login(user)
        cookie = client.get_cookie("session")
        assert cookie.expires is not None
        assert cookie.expires == signed_in_at + timedelta(hours=24)
        assert "Day Tripper" in client.get("/").get_data(as_text=True)
    config = app.config
    if config["SESSION_TYPE"] == "redis":  # Redis expires the key itself: its clock, not ours
        key = f"{config['SESSION_KEY_PREFIX']}{cookie.value}"
        assert 23 * 3600 < config["SESSION_REDIS"].ttl(key) <= 24 * 3600
        return
    with time_machine.travel("2026-06-02 11:58Z", tick=False):
        assert "Day Tripper" in client.get("/").get_data(as_text=True)
    with time_machine.travel("2026-06-02 12:01Z", tick=False):
        page = client.get("/").get_data(as_text=True)
        assert "Day Tripper" not in page
        assert "Log in" in page
