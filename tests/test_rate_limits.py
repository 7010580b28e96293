"""Rate limits, against a real server process with limits on (the suite runs them off)."""

from __future__ import annotations

import pytest

from tests.live import Browser, gunicorn_server

LIMITED = {"TEST_RATELIMIT_ENABLED": "1"}


@pytest.fixture(scope="module")
def behind_one_proxy(app, tmp_path_factory):
    with gunicorn_server(str(tmp_path_factory.mktemp("limits")),
                         {**LIMITED, "TEST_PROXY_FIX_HOPS": "1"}, workers=1) as base:  # fmt: skip
        yield base


def failed_login(browser: Browser, token: str, email: str, client_ip: str | None = None):
    headers = {"X-Forwarded-For": client_ip} if client_ip else {}
    form = {"csrf_token": token, "email": email, "password": "wrong password, sorry"}
    return browser.post("/login/", form, headers)


def test_failed_logins_are_limited_per_ip(behind_one_proxy):
    browser = Browser(behind_one_proxy)
    token = browser.hidden_fields("/login/")["csrf_token"]
    statuses = [failed_login(browser, token, f"u{n}@example.com", "203.0.113.7")[0]
                for n in range(10)]  # fmt: skip
    assert statuses == [400] * 10
    status, headers, page = failed_login(browser, token, "u99@example.com", "203.0.113.7")
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert "Too many requests" in page
    # Another client (as the proxy reports it) is not affected.
    assert failed_login(browser, token, "u100@example.com", "198.51.100.20")[0] == 400


def test_failed_logins_are_limited_per_account(behind_one_proxy):
    browser = Browser(behind_one_proxy)
    token = browser.hidden_fields("/login/")["csrf_token"]
    ips = [f"192.0.2.{n}" for n in range(1, 8)]
    statuses = [failed_login(browser, token, "target@example.com", ip)[0] for ip in ips[:5]]
    assert statuses == [400] * 5
    assert failed_login(browser, token, "TARGET@example.com", ips[5])[0] == 429
    assert failed_login(browser, token, "someone-else@example.com", ips[6])[0] == 400


def test_a_forged_forwarded_header_without_a_proxy_does_not_dodge_the_limit(tmp_path):
    with gunicorn_server(str(tmp_path), LIMITED, workers=1) as base:
        browser = Browser(base)
        token = browser.hidden_fields("/login/")["csrf_token"]
        for n in range(10):
            status, _, _ = failed_login(browser, token, f"f{n}@example.com", f"10.9.9.{n}")
            assert status == 400
        assert failed_login(browser, token, "f11@example.com", "10.9.9.200")[0] == 429


def test_health_checks_and_static_files_are_never_limited(tmp_path):
    with gunicorn_server(str(tmp_path), LIMITED, workers=1) as base:
        browser = Browser(base)
        statuses = {browser.get("/robots.txt")[0] for _ in range(101)}
        assert 429 in statuses  # the default 100/minute applies to pages
        assert {browser.get("/health/live/")[0] for _ in range(120)} == {200}
        assert {browser.get("/health/ready/")[0] for _ in range(5)} == {200}
        assert {browser.get("/static/css/site.css")[0] for _ in range(20)} == {200}

