"""The account page (issue 16, item 8): the header's name links to it; changing the display
name, the password (other sessions end) and the email address (a signed, expiring, single-use
link to the new address; the old one is told). Deleting: tests/test_account_deletion.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from eventmate.extensions import db
from eventmate.models import User
from tests.accounts import NEW_PASSWORD, account, link_to, signed_in
from tests.accounts import page_text as without_tokens
from tests.conftest import PASSWORD, page_text, post_form, sign_in
from tests.factories import make_event, make_member, make_review
from tests.mail import emails_to, text_of


def test_the_header_name_links_to_the_account_page(client, member):
    home = client.get("/").get_data(as_text=True)
    assert '<a class="whoami" href="/account/" title="Your account">Mira</a>' in home
    page = client.get("/account/")
    assert page.status_code == 200
    text = page_text(page)
    assert "member@example.com" in text
    for heading in ("Change your name", "Change your password", "Change your email address",
                    "Delete your account"):  # fmt: skip
        assert heading in text
    assert 'href="/account/delete/"' in text
    ids = re.findall(r'\sid="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # two "Current password" fields, each with its own id


def test_the_account_page_needs_a_signed_in_member(client, db_session):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


# --- the name --------------------------------------------------------------------------------


def test_changing_the_name_shows_it_in_the_header_and_on_reviews(client, member):
    event = make_event(starts_at=datetime.now(UTC) - timedelta(days=2))
    make_review(event, user=member, body="Great night")
    db.session.commit()
    assert "Mira" in page_text(client.get(f"/events/{event.slug}/"))  # cached now

    response = post_form(client, "/account/", {"display_name": "  Mira   Stone "},
                         action="/account/name/")  # fmt: skip
    assert response.status_code == 303
    page = page_text(client.get("/account/"))
    assert "Your name is now Mira Stone." in page
    assert '<a class="whoami" href="/account/" title="Your account">Mira Stone</a>' in page
    assert account("member@example.com").display_name == "Mira Stone"
    assert "Mira Stone" in page_text(client.get(f"/events/{event.slug}/"))


@pytest.mark.parametrize(
    ("name", "error"),
    [("   ", "This field is required."), ("x" * 81, "Field cannot be longer than 80 characters."),
     ("Mi\x00ra", "Remove the invisible control characters")],
)  # fmt: skip
def test_a_bad_name_is_refused_with_a_field_error(client, member, name, error):
    response = post_form(client, "/account/", {"display_name": name}, action="/account/name/")
    assert response.status_code == 400
    assert error in page_text(response)
    assert account("member@example.com").display_name == "Mira"


def test_a_form_without_its_csrf_token_is_refused(client, member):
    response = client.post("/account/name/", data={"display_name": "Sneaky"})
    assert response.status_code == 400
    assert account("member@example.com").display_name == "Mira"


# --- the password ----------------------------------------------------------------------------


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    data = {"current_password": current, "password": new, "confirm": confirm or new}
    return post_form(client, "/account/", data, action="/account/password/")


def test_a_new_password_ends_every_other_session_but_this_one(app, client, member):
    elsewhere = app.test_client()  # the same member, signed in on another device
    sign_in(elsewhere, "member@example.com")
    assert signed_in(elsewhere)

    response = change_password(client)
    assert response.status_code == 303
    assert "Your password is changed" in page_text(client.get("/account/"))
    assert signed_in(client)
    assert not signed_in(elsewhere)
    assert account("member@example.com").session_generation == 1
    old = post_form(app.test_client(), "/login/",
                    {"email": "member@example.com", "password": PASSWORD})  # fmt: skip
    assert old.status_code == 400
    sign_in(app.test_client(), "member@example.com", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "error"),
    [
        ("wrong password entirely", NEW_PASSWORD, None, "That isn't your current password."),
        (PASSWORD, "short", None, "Use 10 to 128 characters"),
        (PASSWORD, "password123", None, "too common"),
        (PASSWORD, "member@example.com", None, "can't be your email address"),
        (PASSWORD, NEW_PASSWORD, "something else entirely", "The passwords don't match."),
        (PASSWORD, PASSWORD, None, "different from your current one"),
        ("", NEW_PASSWORD, None, "This field is required."),
    ],
)
def test_a_refused_password_change_changes_nothing(app, client, member, current, new, confirm,
                                                   error):  # fmt: skip
    elsewhere = app.test_client()
    sign_in(elsewhere, "member@example.com")
    response = change_password(client, current, new, confirm)
    assert response.status_code == 400
    assert error in page_text(response)
    user = account("member@example.com")
    assert user.session_generation == 0
    assert signed_in(elsewhere)
    sign_in(app.test_client(), "member@example.com", PASSWORD)


# --- the email address -----------------------------------------------------------------------


def change_email(client, email, password=PASSWORD):
    data = {"email": email, "current_password": password}
    return post_form(client, "/account/", data, action="/account/email/")


def change_link(app, address: str) -> str:
    return link_to(app, address, "email_change", "/account/email/confirm/?key=")


def test_a_new_address_changes_only_when_its_link_is_followed(app, client, member, outbox):
    response = change_email(client, "Mira.New@Example.com")
    assert response.status_code == 200
    assert "sent an email to <strong>mira.new@example.com</strong>" in page_text(response)
    assert account("member@example.com") is not None  # nothing changed yet
    [email] = emails_to(app, "mira.new@example.com", "email_change")
    assert email["Subject"] == "Confirm your new email address for EventMate"
    assert "It works once, for 1 day." in text_of(email)

    followed = client.get(change_link(app, "mira.new@example.com"))
    assert followed.status_code == 302
    assert followed.headers["Location"] == "/account/"
    assert "Your email address is now mira.new@example.com." in page_text(client.get("/account/"))
    assert account("member@example.com") is None
    user = account("mira.new@example.com")
    assert user.id == member.id
    assert user.is_verified
    [notice] = emails_to(app, "member@example.com", "email_changed")
    assert "was changed to m…@example.com" in text_of(notice)
    assert signed_in(client)
    sign_in(app.test_client(), "mira.new@example.com")


def test_an_address_with_an_account_gets_the_same_answer_and_nothing_changes(
    app, client, member, outbox
):
    make_member(email="taken@example.com", display_name="Tara")
    db.session.commit()
    free = change_email(client, "free@example.com")
    taken = change_email(client, "taken@example.com")
    assert free.status_code == taken.status_code == 200
    assert without_tokens(taken).replace("taken@", "free@") == without_tokens(free)
    assert emails_to(app, "taken@example.com", "email_change") == []
    [warning] = emails_to(app, "taken@example.com", "email_in_use")
    assert "already belongs to your account" in text_of(warning)
    assert account("member@example.com").id == member.id


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        ("new@example.com", "not my password at all", "That isn't your current password."),
        ("not an address", PASSWORD, "is not a valid email address"),
        ("member@example.com", PASSWORD, "That is your address already."),
        ("", PASSWORD, "This field is required."),
    ],
)
def test_a_refused_address_change_sends_nothing(app, client, member, outbox, email, password,
                                                error):  # fmt: skip
    response = change_email(client, email, password)
    assert response.status_code == 400
    assert error in page_text(response)
    assert outbox() == []


def test_an_address_change_link_works_once(app, client, member, outbox):
    change_email(client, "once@example.com")
    link = change_link(app, "once@example.com")
    assert client.get(link).status_code == 302
    again = app.test_client().get(link)
    assert again.status_code == 400
    assert "This link has been used already" in page_text(again)
    assert account("once@example.com").id == member.id


def test_a_later_address_change_voids_the_earlier_link(app, client, member, outbox):
    change_email(client, "first@example.com")
    change_email(client, "second@example.com")
    first, second = change_link(app, "first@example.com"), change_link(app, "second@example.com")
    assert client.get(second).status_code == 302
    assert client.get(first).status_code == 400  # the account's address changed since
    assert account("second@example.com").id == member.id
    assert account("first@example.com") is None


@pytest.mark.parametrize(("after", "status"), [(timedelta(hours=23, minutes=59), 302),
                                               (timedelta(hours=24, minutes=1), 400)])  # fmt: skip
def test_an_address_change_link_lasts_a_day(app, client, db_session, outbox, clock, after,
                                            status):  # fmt: skip
    sent_at = clock(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))  # across Europe's DST change
    make_member(email="rosa@example.com")
    db_session.commit()
    sign_in(client, "rosa@example.com")
    change_email(client, "rosa.new@example.com")
    link = change_link(app, "rosa.new@example.com")
    clock(sent_at + after)
    response = app.test_client().get(link)
    assert response.status_code == status
    moved = account("rosa.new@example.com")
    if status == 400:
        assert "This link to change your email address has expired" in page_text(response)
        assert moved is None
    else:
        assert moved is not None


def test_a_tampered_address_change_link_is_refused(app, client, member, outbox):
    change_email(client, "mine@example.com")
    link = change_link(app, "mine@example.com")
    response = client.get(link[:-3] + "abc")
    assert response.status_code == 404
    assert "isn't valid" in page_text(response)
    assert client.get("/account/email/confirm/").status_code == 404
    assert account("member@example.com") is not None


def test_an_address_taken_before_the_link_is_followed_is_refused(app, client, member, outbox):
    change_email(client, "race@example.com")
    link = change_link(app, "race@example.com")
    make_member(email="race@example.com")
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 409
    assert "race@example.com has an account by now" in page_text(response)
    assert db.session.get(User, member.id).email == "member@example.com"
