"""Becoming a host from the site (issue 16, item 10): a "Host an event" link, the host terms
accepted on a page (instead of a bare 403), and an administrator's suspension of someone's
hosting, which the site won't let them undo."""

from __future__ import annotations

from sqlalchemy import select

from eventmate.extensions import db
from eventmate.models import Event, User
from tests.conftest import csrf_token, page_text
from tests.factories import make_event, make_member


def user_row(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_a_member_becomes_a_host_by_accepting_the_terms(client, member):
    assert '<a href="/host/become/">Host an event</a>' in page_text(client.get("/"))
    page = page_text(client.get("/host/become/"))
    assert "The host terms" in page
    token = csrf_token(client, "/host/become/")

    refused = client.post("/host/become/", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "Accept the host terms to start hosting." in page_text(refused)
    assert not user_row("member@example.com").is_host

    accepted = client.post("/host/become/", data={"csrf_token": token, "accept": "y"})
    assert accepted.status_code == 303
    assert accepted.headers["Location"] == "/host/events/new/"
    row = user_row("member@example.com")
    assert row.is_host
    assert row.host_terms_accepted_at is not None
    assert client.get("/host/").status_code == 200
    assert '<a href="/host/">Host</a>' in page_text(client.get("/"))
    assert client.get("/host/become/").status_code == 302  # nothing more to accept


def test_an_unconfirmed_address_confirms_first(client, db_session, login):
    user = make_member(email="new@example.com", email_verified_at=None)
    db_session.commit()
    login(user)
    token = csrf_token(client, "/host/become/")
    response = client.post("/host/become/", data={"csrf_token": token, "accept": "y"})
    assert response.status_code == 403
    assert not user_row("new@example.com").is_host


def test_signed_out_visitors_log_in_first(client, db_session):
    response = client.get("/host/become/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_a_suspended_hosts_events_leave_and_the_site_wont_give_hosting_back(
    client, db_session, runner, login
):
    host = make_member(email="rex@example.com", is_host=True)
    make_event(host=host, slug="rex-gig")
    db_session.commit()

    result = runner.invoke(args=["users", "suspend-host", "rex@example.com"])

    assert result.exit_code == 0, result.output
    assert "Suspended hosting for rex@example.com; 1 hosted event(s) are off the site" in (
        result.output
    )
    assert client.get("/events/rex-gig/").status_code == 404
    row = user_row("rex@example.com")
    assert not row.is_host
    assert row.hosting_suspended_at is not None
    login(host)
    assert client.get("/host/").status_code == 403
    page = page_text(client.get("/host/become/"))
    assert "An administrator has suspended your hosting" in page
    assert "Start hosting" not in page
    token = csrf_token(client, "/me/bookings/")
    refused = client.post("/host/become/", data={"csrf_token": token, "accept": "y"})
    assert refused.status_code == 403
    assert not user_row("rex@example.com").is_host

    result = runner.invoke(args=["users", "restore-host", "rex@example.com"])
    assert result.exit_code == 0, result.output
    assert user_row("rex@example.com").is_host
    assert db.session.scalar(select(Event.host_active).where(Event.slug == "rex-gig"))
    assert client.get("/events/rex-gig/").status_code == 200
