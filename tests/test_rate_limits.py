"""Rate limits, against a real server process with limits on (the suite runs them off)."""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask_migrate import upgrade

from eventmate.extensions import db
from tests.conftest import PASSWORD, app_for_database, fresh_database
from tests.factories import make_event, make_member
from tests.live import Browser, gunicorn_server

LIMITED = {"TEST_RATELIMIT_ENABLED": "1"}
OWNER = "owner@example.com"


@pytest.fixture(scope="module")
def site(app, tmp_path_factory):
    """gunicorn behind one (pretend) proxy on a database with a member and an event."""
    with fresh_database(app) as url, app_for_database(url, tempfile.mkdtemp()) as data_app:
        with data_app.app_context():
            upgrade()
            make_member(email=OWNER, password=PASSWORD)
            # One member books it 21 times: within its per-member limit, so only the rate
            # limit can refuse.
            slug = make_event(title="Limits Lecture", capacity=500, max_per_booking=30).slug
            db.session.commit()
            db.session.remove()
        env = {**LIMITED, "TEST_PROXY_FIX_HOPS": "1", "TEST_DATABASE_URL": url}
        with gunicorn_server(str(tmp_path_factory.mktemp("limits")), env, workers=1) as base:
            yield base, slug


@pytest.fixture
def behind_one_proxy(site):
    return site[0]


def from_ip(ip: str) -> dict:
    return {"X-Forwarded-For": ip}


def login(browser: Browser, token: str, email: str, ip: str, password="wrong password, sorry"):
    form = {"csrf_token": token, "email": email, "password": password}
    return browser.post("/login/", form, from_ip(ip))


def test_sign_in_attempts_are_limited_per_ip(behind_one_proxy):
    browser = Browser(behind_one_proxy)
    token = browser.hidden_fields("/login/")["csrf_token"]
    ip = "203.0.113.7"
    statuses = [login(browser, token, f"u{n}@example.com", ip)[0] for n in range(20)]
    assert statuses == [400] * 20
    status, headers, page = login(browser, token, "u99@example.com", ip)
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert "Too many requests" in page
    # Another client (as the proxy reports it) is not affected.
    assert login(browser, token, "u100@example.com", "198.51.100.20")[0] == 400


def test_a_guesser_is_stopped_but_cannot_lock_the_owner_out(behind_one_proxy):
    browser = Browser(behind_one_proxy)
    token = browser.hidden_fields("/login/")["csrf_token"]
    guesser = "192.0.2.66"
    assert [login(browser, token, OWNER, guesser)[0] for _ in range(5)] == [400] * 5
    status, _, page = login(browser, token, OWNER.upper(), guesser, password=PASSWORD)
    assert status == 429, "the guessing client is refused, even with the right password"
    assert "Too many requests" in page
    # The owner, from a client that hasn't been failing, signs in.
    owner = Browser(behind_one_proxy)
    owner_token = owner.hidden_fields("/login/")["csrf_token"]
    status, headers, _ = login(owner, owner_token, OWNER, "198.51.100.5", password=PASSWORD)
    assert status == 302
    assert headers["Location"].endswith("/")
    assert "Log out" in owner.get("/")[2]


def test_attempts_sent_all_at_once_get_no_more_than_the_budget(behind_one_proxy):
    """Each attempt is counted before its password is checked: 20 wrong passwords for one
    account sent at the same moment from one client get 5 answers and 15 refusals."""
    browser = Browser(behind_one_proxy)
    token = browser.hidden_fields("/login/")["csrf_token"]
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: login(browser, token, "burst@example.com",
                                                 "192.0.2.200")[0], range(20)))  # fmt: skip
    assert sorted(statuses) == [400] * 5 + [429] * 15


def test_the_owner_signing_in_starts_their_count_again(behind_one_proxy):
    owner = Browser(behind_one_proxy)
    token = owner.hidden_fields("/login/")["csrf_token"]
    ip = "198.51.100.44"
    assert [login(owner, token, OWNER, ip)[0] for _ in range(4)] == [400] * 4  # typos
    assert login(owner, token, OWNER, ip, password=PASSWORD)[0] == 302
    owner.cookies.clear()
    token = owner.hidden_fields("/login/")["csrf_token"]
    assert [login(owner, token, OWNER, ip)[0] for _ in range(4)] == [400] * 4  # not 429


def test_many_clients_guessing_one_account_are_slowed_not_refused(behind_one_proxy):
    browser = Browser(behind_one_proxy)
    token = browser.hidden_fields("/login/")["csrf_token"]
    target = "popular@example.com"
    # 20 failures (the ceiling) from five clients, four each: under every per-client limit.
    for client in range(5):
        statuses = [login(browser, token, target, f"192.0.2.{100 + client}")[0] for _ in range(4)]
        assert statuses == [400] * 4
    started = time.monotonic()
    status, _, page = login(browser, token, target, "198.51.100.77")
    assert status == 400  # answered, not refused
    assert "match an account" in page
    assert time.monotonic() - started >= 2.0  # LOGIN_SLOWDOWN_SECONDS, a lower bound
    # An account below the ceiling answers without the wait.
    started = time.monotonic()
    assert login(browser, token, "quiet@example.com", "198.51.100.78")[0] == 400
    assert time.monotonic() - started < 2.0


def test_a_forged_forwarded_header_without_a_proxy_does_not_dodge_the_limit(tmp_path):
    with gunicorn_server(str(tmp_path), LIMITED, workers=1) as base:
        browser = Browser(base)
        token = browser.hidden_fields("/login/")["csrf_token"]
        for n in range(20):
            status, _, _ = login(browser, token, f"f{n}@example.com", f"10.9.9.{n}")
            assert status == 400
        assert login(browser, token, "f11@example.com", "10.9.9.200")[0] == 429


def test_one_budget_per_client_across_the_whole_site(behind_one_proxy):
    """100/minute counted once per client: pages of every kind, 404s and 405s together."""
    browser = Browser(behind_one_proxy, headers=from_ip("203.0.113.99"))
    paths = ["/", "/events/", "/robots.txt", "/no-such-page/"]
    statuses = [browser.get(paths[n % 4])[0] for n in range(96)]
    assert 429 not in statuses
    assert 404 in statuses
    assert browser.request("DELETE", "/events/")[0] == 405
    assert [browser.get("/login/")[0] for _ in range(3)] == [200] * 3  # 100 so far
    status, _, page = browser.get("/events/")
    assert status == 429
    assert "Too many requests" in page
    assert browser.get("/definitely-missing/")[0] == 429  # unmatched requests are limited too


def test_ipv6_clients_are_counted_by_their_64(behind_one_proxy):
    """Rotating through the addresses of one /64 doesn't buy a fresh budget."""
    browser = Browser(behind_one_proxy)
    statuses = [browser.request("GET", "/no-such-page/", headers=from_ip(f"2001:db8:7:1::{n:x}"))[0]
                for n in range(1, 101)]  # fmt: skip
    assert set(statuses) == {404}
    assert browser.request("GET", "/", headers=from_ip("2001:db8:7:1:ffff::9"))[0] == 429
    # The neighbouring /64 is another client.
    assert browser.request("GET", "/", headers=from_ip("2001:db8:7:2::1"))[0] == 200


def test_registration_is_limited_to_five_an_hour_per_client(behind_one_proxy):
    browser = Browser(behind_one_proxy)
    token = browser.hidden_fields("/register/")["csrf_token"]
    statuses = []
    for n in range(6):
        form = {"csrf_token": token, "email": f"new{n}@example.com", "display_name": f"New {n}",
                "password": "a sound passphrase, long enough",
                "confirm": "a sound passphrase, long enough"}  # fmt: skip
        statuses.append(browser.post("/register/", form, from_ip("203.0.113.50"))[0])
        browser.cookies.clear()  # a new visitor each time, signed out
        token = browser.hidden_fields("/register/")["csrf_token"]
    assert statuses[:5] == [200] * 5  # "check your inbox"
    assert statuses[5] == 429


def test_only_registrations_that_go_through_count_against_the_limit(behind_one_proxy):
    browser = Browser(behind_one_proxy)
    client = from_ip("203.0.113.51")

    def sign_up(n: int, confirm: str) -> int:
        browser.cookies.clear()  # a new visitor each time, signed out
        form = {"csrf_token": browser.hidden_fields("/register/")["csrf_token"],
                "email": f"typo{n}@example.com", "display_name": f"Typo {n}",
                "password": "a sound passphrase, long enough", "confirm": confirm}  # fmt: skip
        return browser.post("/register/", form, client)[0]

    mistyped = [sign_up(n, "a sound passphrase, long enuogh") for n in range(6)]
    assert mistyped == [400] * 6  # each says what is wrong; none is "going too fast"
    signed_up = [sign_up(n, "a sound passphrase, long enough") for n in range(6)]
    assert signed_up == [200] * 5 + [429]


def test_booking_is_limited_to_twenty_a_minute_per_client(site):
    base, slug = site
    browser = Browser(base, headers=from_ip("203.0.113.80"))
    browser.log_in(OWNER, PASSWORD)
    statuses = []
    for _ in range(21):
        fields = browser.hidden_fields(f"/events/{slug}/")
        form = {**fields, "quantity": "1"}
        statuses.append(browser.post(f"/events/{slug}/book/", form)[0])
    assert 429 not in statuses[:20]
    assert statuses[20] == 429


def test_health_checks_and_static_files_are_never_limited(tmp_path):
    with gunicorn_server(str(tmp_path), LIMITED, workers=1) as base:
        browser = Browser(base)
        statuses = {browser.get("/robots.txt")[0] for _ in range(101)}
        assert 429 in statuses  # the site-wide 100/minute applies to pages
        assert {browser.get("/health/live/")[0] for _ in range(120)} == {200}
        assert {browser.get("/health/ready/")[0] for _ in range(5)} == {200}
        assert {browser.get("/static/css/site.css")[0] for _ in range(20)} == {200}
