"""The 500 page: still the site's own page when the request's database transaction failed."""

from __future__ import annotations

from contextlib import suppress

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from config import TestConfig
from eventmate import create_app
from eventmate.extensions import db
from eventmate.models import User
from tests.conftest import PASSWORD, post_form
from tests.factories import make_member

BROKEN_AFTER_FLUSH = "/test-only/broken-after-a-failed-flush/"
FAILED_FLUSH = "/test-only/failed-flush/"


@pytest.fixture
def failing_app(app, db_session, tmp_path):
    """A fresh app (routes can't be added to one that has served requests) on the test
    database, with two test-only views whose flush fails: one lets the database error out,
    one swallows it and then fails on something else, as a careless view might."""
    other = create_app(TestConfig, instance_path=str(tmp_path))
    other.config["PROPAGATE_EXCEPTIONS"] = False  # the error handlers answer, as in production

    def duplicate_account() -> None:
        existing = db.session.scalar(select(User).limit(1))
        db.session.add(User(email=existing.email, display_name="Twin", password_hash="x"))
        db.session.flush()  # the unique email index refuses it: the transaction is failed

    @other.get(FAILED_FLUSH)
    def failed_flush():
        duplicate_account()

    @other.get(BROKEN_AFTER_FLUSH)
    def broken_after_flush():
        with suppress(IntegrityError):  # swallowed, as a careless view might
            duplicate_account()
        raise RuntimeError("a bug after the failed flush")

    return other


@pytest.fixture
def signed_in(failing_app, db_session):
    """A test client of the failing app, signed in: the 500 page's header loads the member."""
    member = make_member(display_name="Erin")
    db_session.commit()
    client = failing_app.test_client()
    response = post_form(client, "/login/", {"email": member.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("url", [FAILED_FLUSH, BROKEN_AFTER_FLUSH])
def test_500_after_a_failed_flush_is_the_sites_styled_page(signed_in, url):
    response = signed_in.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "<title>Something went wrong · EventMate</title>" in page
    assert 'class="site-header"' in page
    assert "Log out" in page  # the header still knows who is signed in
    assert "a bug after the failed flush" not in page
