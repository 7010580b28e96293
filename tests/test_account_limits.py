"""The accounts' rate limits, against a real server process with limits on (the suite runs them
off): password reset emails per address and requests per client, sending the confirmation link
again per client and per account, and on the account page asking to change the address (per
client and per account) and refused current passwords (per account). Its email is read from
the server's instance folder."""

from __future__ import annotations

import re

import pytest
from flask_migrate import upgrade

from eventmate.extensions import db
from tests.conftest import PASSWORD, app_for_database, fresh_database
from tests.factories import make_member
from tests.live import Browser, gunicorn_server
from tests.mail import emails_to

OWNER = "owner@example.com"
UNCONFIRMED = ("una@example.com", "uma@example.com")
MOVERS = ("mo@example.com", "max@example.com")  # change their address (the account page)
GUESSER = "guess@example.com"


@pytest.fixture(scope="module")
def site(app, tmp_path_factory):
    """gunicorn behind one (pretend) proxy, limits on; yields its URL and an app on its
    database and instance folder (whose outbox/ holds the email the server sent)."""
    instance = str(tmp_path_factory.mktemp("account-limits"))
    with fresh_database(app) as url, app_for_database(url, instance) as data_app:
        with data_app.app_context():
            upgrade()
            make_member(email=OWNER)
            for email in UNCONFIRMED:
                make_member(email=email, email_verified_at=None)
            for email in (*MOVERS, GUESSER):
                make_member(email=email)
            db.session.commit()
            db.session.remove()
        env = {"TEST_RATELIMIT_ENABLED": "1", "TEST_PROXY_FIX_HOPS": "1", "TEST_DATABASE_URL": url}
        with gunicorn_server(instance, env, workers=1) as base:
            yield base, data_app


def from_ip(ip: str) -> dict:
    return {"X-Forwarded-For": ip}


def forgot(base: str, email: str, ip: str) -> tuple[int, str]:
    """Ask for a reset link for `email` as a new visitor from `ip`: (status, page text)."""
    browser = Browser(base, headers=from_ip(ip))
    token = browser.hidden_fields("/password/forgot/")["csrf_token"]
    status, _, page = browser.post("/password/forgot/", {"csrf_token": token, "email": email})
    return status, page


def main_part(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


def test_reset_emails_stop_at_the_address_budget_and_the_answer_stays_the_same(site):
    base, data_app = site
    answers = [forgot(base, OWNER, f"198.51.100.{n}") for n in range(1, 5)]
    unknown = [forgot(base, "nobody@example.com", f"198.51.100.{n}") for n in range(11, 15)]

    assert {status for status, _ in answers + unknown} == {200}
    pages = {main_part(page) for _, page in answers}
    assert len(pages) == 1  # the fourth answer is the same as the first
    assert "If an account exists for" in pages.pop()
    assert {main_part(page).replace("nobody@", "owner@") for _, page in unknown} == {
        main_part(answers[0][1])
    }
    # PASSWORD_RESET_LIMIT_PER_ADDRESS, 3 an hour: the fourth is answered, not sent.
    assert len(emails_to(data_app, OWNER, "password_reset")) == 3
    assert emails_to(data_app, "nobody@example.com") == []


def test_asking_for_resets_is_limited_per_client(site):
    base, _ = site
    ip = "203.0.113.30"
    statuses = [forgot(base, f"someone{n}@example.com", ip)[0] for n in range(10)]
    assert statuses == [200] * 10
    browser = Browser(base, headers=from_ip(ip))
    token = browser.hidden_fields("/password/forgot/")["csrf_token"]
    status, headers, page = browser.post(
        "/password/forgot/", {"csrf_token": token, "email": "one-more@example.com"}
    )
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert "Too many requests" in page
    assert forgot(base, "one-more@example.com", "203.0.113.31")[0] == 200  # another client


def resend(base: str, email: str, ip: str, times: int) -> list[int]:
    """Sign `email` in from `ip` and ask for the confirmation link `times` times."""
    browser = Browser(base, headers=from_ip(ip))
    browser.log_in(email, PASSWORD)
    page = browser.get("/")[2]
    assert "Resend the link" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "next": "/"}
    return [browser.post("/account/confirm/again/", form)[0] for _ in range(times)]


def test_sending_the_link_again_is_limited_per_account_and_per_client(site):
    base, data_app = site
    una, uma = UNCONFIRMED
    assert resend(base, una, "192.0.2.10", 4) == [303, 303, 303, 429]
    assert resend(base, una, "192.0.2.11", 1) == [429]  # the account's budget is spent
    assert resend(base, uma, "192.0.2.10", 1) == [429]  # and so is that client's
    assert resend(base, uma, "192.0.2.12", 1) == [303]
    assert len(emails_to(data_app, una, "verify_email")) == 3
    assert len(emails_to(data_app, uma, "verify_email")) == 1


def account_page(base: str, email: str, ip: str) -> tuple[Browser, str]:
    """`email` signed in from `ip`: the browser and a CSRF token of the account page."""
    browser = Browser(base, headers=from_ip(ip))
    browser.log_in(email, PASSWORD)
    return browser, browser.hidden_fields("/account/")["csrf_token"]


def move(base: str, email: str, ip: str, times: int) -> list[int]:
    """Sign `email` in from `ip` and ask `times` times to move the account to a new address."""
    browser, token = account_page(base, email, ip)
    form = {"csrf_token": token, "current_password": PASSWORD}
    return [browser.post("/account/email/", {**form, "email": f"{n}-{email}"})[0]
            for n in range(times)]  # fmt: skip


def test_changing_the_address_is_limited_per_account_and_per_client(site):
    base, data_app = site
    mo, max_ = MOVERS
    assert move(base, mo, "192.0.2.20", 6) == [200] * 5 + [429]
    assert move(base, mo, "192.0.2.21", 1) == [429]  # the account's budget is spent
    assert move(base, max_, "192.0.2.20", 1) == [429]  # and so is that client's
    assert move(base, max_, "192.0.2.22", 1) == [200]
    assert len(emails_to(data_app, f"0-{mo}", "email_change")) == 1
    assert emails_to(data_app, f"5-{mo}", "email_change") == []


def test_guessing_the_current_password_is_stopped_per_account(site):
    base, _ = site
    browser, token = account_page(base, GUESSER, "192.0.2.30")
    wrong = {"csrf_token": token, "current_password": "is it this one perhaps"}
    statuses = [browser.post("/account/delete/", wrong)[0] for _ in range(5)]
    assert statuses == [400] * 5
    right = {**wrong, "current_password": PASSWORD}
    status, headers, _ = browser.post("/account/delete/", right)
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    elsewhere, token = account_page(base, GUESSER, "192.0.2.31")  # per account, not client
    assert elsewhere.post("/account/delete/", {**right, "csrf_token": token})[0] == 429
