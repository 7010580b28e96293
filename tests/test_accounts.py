"""Accounts: registration that never tells whether an address has an account, confirming the
address by an emailed link, and booking and reviewing only once it is confirmed. (A forgotten
password: tests/test_password_reset.py; the rate limits: tests/test_account_limits.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventmate.extensions import db
from eventmate.models import Booking, Review, User
from tests.accounts import (
    NEW_PASSWORD,
    account,
    count,
    page_text,
    register,
    reset_link,
    signed_in,
    verification_link,
)
from tests.conftest import csrf_token, hidden_fields, post_form, sign_in
from tests.factories import make_booking, make_event, make_member, now
from tests.mail import emails_to, html_of, site_links_in, text_of

# --- registration ---------------------------------------------------------------------------


def test_registration_answers_the_same_whether_or_not_the_address_has_an_account(
    app, db_session, outbox
):
    first = register(app.test_client())  # a new address
    again = register(app.test_client(), display_name="Mallory", password=NEW_PASSWORD,
                     confirm=NEW_PASSWORD)  # fmt: skip

    assert first.status_code == again.status_code == 200
    assert page_text(first) == page_text(again)
    assert "Check your inbox" in page_text(first)
    assert "ada@example.com" in page_text(first)
    # One account, unconfirmed, with the first password; the second try changed nothing.
    assert count(User) == 1
    ada = account("ada@example.com")
    assert ada.display_name == "Ada Lovelace"
    assert not ada.is_verified
    assert [email["X-EventMate-Kind"] for email in outbox()] == ["verify_email", "account_exists"]
    assert all(email["To"] == "ada@example.com" for email in outbox())
    sign_in(app.test_client(), ada.email)
    mallory = app.test_client()
    refused = post_form(mallory, "/login/", {"email": ada.email, "password": NEW_PASSWORD})
    assert refused.status_code == 400


def test_registering_an_address_a_member_has_emails_the_member_and_signs_in_nobody(
    app, client, db_session, outbox
):
    member = make_member(email="grace@example.com", display_name="Grace Hopper")
    db_session.commit()
    known = register(client, email="GRACE@example.com")
    fresh = register(app.test_client(), email="new@example.com")

    assert known.status_code == fresh.status_code == 200
    assert page_text(known).replace("grace@", "new@") == page_text(fresh)
    assert not signed_in(client)
    assert count(User) == 2
    assert emails_to(app, "grace@example.com", "verify_email") == []
    [email] = emails_to(app, "grace@example.com", "account_exists")
    assert email["Subject"] == "Someone tried to sign up with your email address"
    assert "Grace Hopper" in text_of(email)
    assert {"/login/", "/password/forgot/"} <= set(site_links_in(email))
    assert "/password/forgot/" in html_of(email)
    db.session.expire_all()
    assert db.session.get(User, member.id).display_name == "Grace Hopper"


def test_a_refused_registration_says_why_for_any_address(client, db_session, outbox):
    make_member(email="grace@example.com")
    db_session.commit()
    for email in ("grace@example.com", "new@example.com"):
        response = register(client, email=email, password="password1234", confirm="password1234")
        assert response.status_code == 400
        assert "too common" in response.get_data(as_text=True)
    assert outbox() == []


def test_the_confirmation_email_links_to_confirming(app, client, db_session, outbox):
    register(client)
    [email] = emails_to(app, "ada@example.com", "verify_email")
    assert email["Subject"] == "Confirm your email address for EventMate"
    assert "Ada Lovelace" in text_of(email)
    assert "3 days" in text_of(email)
    assert "/account/confirm/?key=" in html_of(email)
    assert verification_link(app, "ada@example.com")


# --- confirming the address ----------------------------------------------------------------


def test_the_confirmation_link_confirms_and_signs_in_once(app, client, db_session, outbox):
    register(client)
    assert not signed_in(client)
    link = verification_link(app, "ada@example.com")

    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True).replace("&#39;", "'")
    assert "your email address is confirmed" in home
    assert "Ada Lovelace" in home
    confirmed_at = account("ada@example.com").email_verified_at
    assert confirmed_at is not None

    again = app.test_client()
    second = again.get(link)
    assert second.status_code == 200
    assert "already confirmed" in second.get_data(as_text=True)
    assert not signed_in(again)
    assert account("ada@example.com").email_verified_at == confirmed_at


def test_a_used_confirmation_link_says_so_even_once_expired(app, client, db_session, outbox,
                                                            clock):  # fmt: skip
    sent_at = clock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    register(client)
    link = verification_link(app, "ada@example.com")
    assert client.get(link).status_code == 302
    clock(sent_at + timedelta(days=4))
    response = app.test_client().get(link)
    assert response.status_code == 200
    assert "already confirmed" in response.get_data(as_text=True)


def test_registering_from_an_event_page_comes_back_to_it(app, client, db_session, outbox, event):
    register(client, next=f"/events/{event.slug}/")
    response = client.get(verification_link(app, "ada@example.com"))
    assert response.headers["Location"] == f"/events/{event.slug}/"


@pytest.mark.parametrize(("after", "status"), [(timedelta(days=3, minutes=-1), 302),
                                               (timedelta(days=3, minutes=1), 400)])  # fmt: skip
def test_the_confirmation_link_lasts_three_days(app, client, db_session, outbox, clock,
                                                after, status):  # fmt: skip
    sent_at = clock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    register(client)
    link = verification_link(app, "ada@example.com")
    clock(sent_at + after)
    visitor = app.test_client()
    response = visitor.get(link)
    assert response.status_code == status
    assert account("ada@example.com").is_verified == (status == 302)
    if status == 400:
        page = response.get_data(as_text=True)
        assert "This confirmation link has expired" in page
        assert 'href="/login/"' in page  # log in, and the notice offers a new link
        assert not signed_in(visitor)


def test_a_tampered_or_foreign_confirmation_link_is_refused(app, client, db_session, outbox):
    register(client)
    link = verification_link(app, "ada@example.com")
    key = link.partition("key=")[2]
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    post_form(client, "/password/forgot/", {"email": "ada@example.com"})
    reset_key = reset_link(app, "ada@example.com").partition("key=")[2]
    for bad in (tampered, reset_key, "garbage", "", "a" * 5000, "\x00", "é😀"):
        response = client.get("/account/confirm/", query_string={"key": bad})
        assert response.status_code == 404, bad
        assert "This confirmation link isn't valid" in response.get_data(as_text=True).replace(
            "&#39;", "'"
        )
    assert not account("ada@example.com").is_verified


def test_a_confirmation_link_for_an_address_the_account_no_longer_has_is_refused(
    app, client, db_session, outbox
):
    register(client)
    link = verification_link(app, "ada@example.com")
    user = account("ada@example.com")
    user.email = "ada@elsewhere.example"
    db.session.commit()
    assert client.get(link).status_code == 404
    assert not account("ada@elsewhere.example").is_verified


def test_an_unconfirmed_member_signs_in_and_is_offered_a_new_link(app, client, db_session,
                                                                  outbox):  # fmt: skip
    member = make_member(email="una@example.com", email_verified_at=None)
    db_session.commit()
    sign_in(client, "una@example.com")
    page = client.get("/events/").get_data(as_text=True)
    assert "Please confirm your email address" in page
    assert 'action="/account/confirm/again/"' in page

    response = post_form(client, "/events/", {"next": "/events/"},
                         action="/account/confirm/again/")  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"] == "/events/"
    assert "We've sent a new link to una@example.com" in page_text(client.get("/events/"))
    assert len(emails_to(app, "una@example.com", "verify_email")) == 1
    assert client.get(verification_link(app, "una@example.com")).status_code == 302
    assert account("una@example.com").is_verified
    page = client.get("/events/").get_data(as_text=True)
    assert "Please confirm your email address" not in page
    assert db.session.get(User, member.id).is_verified


def test_a_confirmed_member_is_sent_no_new_link(app, client, db_session, outbox, login):
    login(make_member(email="done@example.com"))
    assert "Please confirm" not in client.get("/").get_data(as_text=True)
    response = post_form(client, "/", {}, action="/account/confirm/again/")
    assert response.status_code == 303
    assert outbox() == []


def test_asking_for_a_new_link_needs_a_sign_in(app, client, db_session, outbox):
    response = post_form(client, "/login/", {}, action="/account/confirm/again/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")
    assert outbox() == []


def test_an_expired_link_offers_a_signed_in_member_a_new_one(app, client, db_session, outbox,
                                                             clock):  # fmt: skip
    sent_at = clock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    register(client)
    link = verification_link(app, "ada@example.com")
    clock(sent_at + timedelta(days=4))
    sign_in(client, "ada@example.com")
    page = client.get(link).get_data(as_text=True)
    assert "expired" in page
    assert page.count('action="/account/confirm/again/"') == 1  # the page's, not the banner too


# --- booking and reviewing need a confirmed address ----------------------------------------


@pytest.fixture
def unconfirmed(db_session, login):
    member = make_member(email="una@example.com", display_name="Una", email_verified_at=None)
    db_session.commit()
    login(member)
    return member


def test_an_unconfirmed_member_cannot_book(client, db_session, unconfirmed, event, outbox):
    url = f"/events/{event.slug}/"
    form = {**hidden_fields(client, url), "quantity": "2"}
    response = client.post(f"{url}book/", data=form, headers={"Referer": f"http://localhost{url}"})

    assert response.status_code == 403
    page = page_text(response)
    assert "To book or review, please confirm your email address first" in page
    assert "una@example.com" in page
    assert 'action="/account/confirm/again/"' in page
    assert f'name="next" value="{url}"' in page  # back to the event after sending
    assert count(Booking) == 0
    db.session.expire_all()
    assert event.seats_booked == 0
    assert outbox() == []


def test_an_unconfirmed_member_cannot_review(client, db_session, unconfirmed):
    event = make_event(starts_at=now() - timedelta(days=1))
    make_booking(event, user=unconfirmed, quantity=1)  # booked before the rule, say
    db_session.commit()
    token = csrf_token(client, f"/events/{event.slug}/")
    response = client.post(f"/events/{event.slug}/review/",
                           data={"csrf_token": token, "rating": "5", "body": "Great"})  # fmt: skip
    assert response.status_code == 403
    assert "confirm your email address" in page_text(response)
    assert count(Review) == 0


def test_a_confirmed_member_books_as_before(client, db_session, login, event):
    login(make_member())
    url = f"/events/{event.slug}/"
    response = client.post(f"{url}book/", data={**hidden_fields(client, url), "quantity": "1"})
    assert response.status_code == 303
    assert count(Booking) == 1
