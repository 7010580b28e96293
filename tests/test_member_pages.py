"""Listing pages for signed-in members: the shared part cached, the personal parts fresh
(eventmate/pagecache/members.py). Redis in the PostgreSQL run."""

from __future__ import annotations

import re

import pytest

from eventmate.hosts.services import set_active
from tests.conftest import PASSWORD, post_form
from tests.factories import make_member

CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]+')


def without_tokens(response) -> str:
    return CSRF_VALUE.sub(r"\1…", response.get_data(as_text=True))


@pytest.fixture
def mina(client, login, db_session):
    member = make_member(display_name="Mina Member", email="mina@example.com")
    db_session.commit()
    login(member)
    client.get("/me/bookings/")  # shows (and so clears) the welcome flash
    return member


@pytest.mark.parametrize("url", ["/", "/events/?q=jazz", "/categories/music/"])
def test_a_members_listing_is_rendered_once_then_assembled_without_its_queries(
    client, page_cache, event, mina, count_queries, url
):
    with count_queries() as rendering:
        first = client.get(url)
    with count_queries() as assembling:
        second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert assembling.count <= 1 < rendering.count  # only the signed-in member is loaded
    assert without_tokens(first) == without_tokens(second)
    assert "Mina Member" in second.get_data(as_text=True)
    assert "Log out" in second.get_data(as_text=True)
    assert second.headers["Cache-Control"] == "private, no-store"
    assert "X-Cache" not in second.headers


def test_another_member_gets_their_own_name_and_a_working_token(app, client, page_cache, mina):
    client.get("/events/")  # Mina's visit stores the shared part
    make_member(display_name="Bea Booker", email="bea@example.com")
    other = app.test_client()
    assert post_form(other, "/login/", {"email": "bea@example.com", "password": PASSWORD})
    page = other.get("/events/").get_data(as_text=True)
    assert "Bea Booker" in page
    assert "Mina Member" not in page
    logout = post_form(other, "/events/", {}, action="/logout/")
    assert logout.status_code == 302  # the token on the assembled page is Bea's own


def test_a_listing_change_reaches_members_at_once(client, page_cache, event, mina):
    assert "Harbour Jazz Night" in client.get("/events/").get_data(as_text=True)
    set_active(event, False)
    assert "Harbour Jazz Night" not in client.get("/events/").get_data(as_text=True)


def test_flash_messages_show_on_an_assembled_page(app, client, page_cache, mina, db_session):
    client.get("/")  # Mina's visit stores the shared part
    make_member(display_name="Flo", email="flo@example.com")
    db_session.commit()
    flo = app.test_client()
    post_form(flo, "/login/", {"email": "flo@example.com", "password": PASSWORD})
    welcome = flo.get("/").get_data(as_text=True)  # assembled from the stored skeleton
    assert "Welcome back, Flo." in welcome
    assert "Welcome back" not in flo.get("/").get_data(as_text=True)  # shown once


def test_anonymous_pages_are_cached_per_host(client, page_cache, event):
    """Pages carry absolute URLs (canonical, og:url): one host's page is not another's."""
    url = f"/events/{event.slug}/"
    assert client.get(url, headers={"Host": "evil.example"}).status_code == 200
    page = client.get(url)
    assert page.headers["X-Cache"] == "MISS"
    assert "evil.example" not in page.get_data(as_text=True)
