"""A forgotten password: the same answer for every address, a signed single-use link that
lasts an hour, and a new password that ends every other session. (Its rate limits:
tests/test_account_limits.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.models import OutboxMessage, User
from tests.accounts import NEW_PASSWORD, account, count, page_text, reset_link, signed_in
from tests.conftest import PASSWORD, csrf_token, hidden_fields, post_form, sign_in
from tests.factories import make_member
from tests.mail import emails_to, text_of


def ask_for_reset(client, email: str):
    return post_form(client, "/password/forgot/", {"email": email})


@pytest.fixture
def rosas_link(app, client, db_session, outbox) -> str:
    """Rosa, a member whose password is PASSWORD, has asked for a reset: the link emailed."""
    make_member(email="rosa@example.com")
    db_session.commit()
    ask_for_reset(client, "rosa@example.com")
    return reset_link(app, "rosa@example.com")


def test_the_login_page_links_to_forgot_password(client, db_session):
    page = client.get("/login/").get_data(as_text=True)
    assert 'href="/password/forgot/"' in page
    assert "Forgot your password?" in page


def test_a_password_reset_from_start_to_end(app, client, db_session, outbox):
    member = make_member(email="rosa@example.com", display_name="Rosa")
    db_session.commit()
    elsewhere = app.test_client()  # the same member, signed in on another device
    sign_in(elsewhere, "rosa@example.com")
    assert signed_in(elsewhere)

    answer = ask_for_reset(client, "Rosa@Example.com")
    assert answer.status_code == 200
    assert "If an account exists for" in page_text(answer)
    [email] = emails_to(app, "rosa@example.com", "password_reset")
    assert email["Subject"] == "Reset your EventMate password"
    assert "1 hour" in text_of(email)
    link = reset_link(app, "rosa@example.com")

    form_page = client.get(link)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.get_data(as_text=True)
    key = hidden_fields(client, link)["key"]
    data = {"key": key, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = post_form(client, link, data, action="/password/reset/")
    assert response.status_code == 302
    assert "Your password is changed" in page_text(client.get("/"))
    assert signed_in(client)
    assert not signed_in(elsewhere)  # every other session of the account ended
    db.session.expire_all()
    assert db.session.get(User, member.id).session_generation == 1

    other = app.test_client()
    old = post_form(other, "/login/", {"email": "rosa@example.com", "password": PASSWORD})
    assert old.status_code == 400
    sign_in(other, "rosa@example.com", NEW_PASSWORD)
    # Used once, the link works no more.
    used = app.test_client().get(link)
    assert used.status_code == 400
    assert "has been used already" in used.get_data(as_text=True)


def test_a_reset_link_can_not_be_posted_twice(app, client, rosas_link):
    key = hidden_fields(client, rosas_link)["key"]
    data = {"key": key, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post_form(client, rosas_link, data, action="/password/reset/").status_code == 302
    other = app.test_client()
    another = "yet another passphrase here"
    again = {**data, "password": another, "confirm": another}
    refused = post_form(other, "/password/forgot/", again, action="/password/reset/")
    assert refused.status_code == 400
    sign_in(app.test_client(), "rosa@example.com", NEW_PASSWORD)


@pytest.mark.parametrize(("after", "status"), [(timedelta(minutes=59), 200),
                                               (timedelta(minutes=61), 400)])  # fmt: skip
def test_a_reset_link_lasts_an_hour(app, client, db_session, outbox, clock, after, status):
    sent_at = clock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    make_member(email="rosa@example.com")
    db_session.commit()
    ask_for_reset(client, "rosa@example.com")
    link = reset_link(app, "rosa@example.com")
    clock(sent_at + after)
    response = client.get(link)
    assert response.status_code == status
    if status == 400:
        assert "This password reset link has expired" in response.get_data(as_text=True)
        assert 'href="/password/forgot/"' in response.get_data(as_text=True)


def test_a_tampered_reset_link_is_refused(client, rosas_link):
    key = rosas_link.partition("key=")[2]
    for bad in (key[:-3] + "xyz", key.upper(), "garbage", "", "9" * 5000):
        response = client.get("/password/reset/", query_string={"key": bad})
        assert response.status_code == 404, bad
        data = {"csrf_token": csrf_token(client, "/login/"), "key": bad,
                "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}  # fmt: skip
        assert client.post("/password/reset/", data=data).status_code == 404
    sign_in(client, "rosa@example.com")  # the old password still works


def test_the_new_password_must_follow_the_rules(client, rosas_link):
    key = hidden_fields(client, rosas_link)["key"]
    attempts = [("password1234", "password1234", "too common"),
                ("short", "short", "Use 10 to 128 characters"),
                (NEW_PASSWORD, "something else", "don't match")]  # fmt: skip
    for password, confirm, message in attempts:
        data = {"key": key, "password": password, "confirm": confirm}
        response = post_form(client, rosas_link, data, action="/password/reset/")
        assert response.status_code == 400
        assert message in page_text(response)
    assert not signed_in(client)
    sign_in(client, "rosa@example.com")  # unchanged


def test_a_reset_confirms_the_address(app, client, db_session, outbox):
    make_member(email="una@example.com", email_verified_at=None)
    db_session.commit()
    ask_for_reset(client, "una@example.com")
    link = reset_link(app, "una@example.com")
    data = {"key": hidden_fields(client, link)["key"], "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD}  # fmt: skip
    assert post_form(client, link, data, action="/password/reset/").status_code == 302
    assert account("una@example.com").is_verified


def test_an_unknown_address_gets_the_same_answer_and_no_email(app, db_session, outbox):
    make_member(email="rosa@example.com")
    db_session.commit()
    known = ask_for_reset(app.test_client(), "rosa@example.com")
    unknown = ask_for_reset(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert page_text(known).replace("rosa@", "nobody@") == page_text(unknown)
    assert [email["To"] for email in outbox()] == ["rosa@example.com"]


def test_a_deactivated_account_gets_no_reset_email(app, client, db_session, outbox):
    make_member(email="gone@example.com", is_active=False)
    db_session.commit()
    response = ask_for_reset(client, "gone@example.com")
    assert response.status_code == 200
    assert "If an account exists for" in page_text(response)
    assert outbox() == []
    assert count(OutboxMessage) == 0


def test_an_account_deactivated_after_asking_gets_nothing(app, client, db_session, outbox,
                                                          queued_not_sent):  # fmt: skip
    """The email is composed when sent: an account deactivated meanwhile is skipped."""
    from eventmate.notifications.outbox import deliver

    member = make_member(email="soon-gone@example.com")
    db_session.commit()
    ask_for_reset(client, "soon-gone@example.com")
    member.is_active = False
    db.session.commit()
    ids = db.session.scalars(select(OutboxMessage.id)).all()
    assert len(ids) == 1
    assert deliver(ids) == 0
    assert outbox() == []
    assert db.session.get(OutboxMessage, ids[0]).status == "skipped"
