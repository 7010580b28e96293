"""Real-browser journeys: Playwright driving Debian's chromium against gunicorn on 127.0.0.1.

Each module gets its own fresh database (migrated, seeded by the test) and instance folder,
so journeys can register, book and upload freely and leave nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from eventmate.extensions import db
from tests import mail
from tests.conftest import app_for_database, fresh_database
from tests.live import ROOT, gunicorn_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
# As the machine's notes advise: no background networking on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Site:
    url: str
    data_app: Flask  # on the site's database and instance folder

    def emails_to(self, address: str, kind: str) -> list[EmailMessage]:
        """What the server has sent `address`: it runs tasks in-process and writes each
        message to `<instance>/outbox/` (tests/mail.py), the data app's folder too."""
        return mail.emails_to(self.data_app, address, kind)

    def run(self, work: Callable[[], object]):
        """Run `work` against the site's database, commit, and return its (plain) result."""
        with self.data_app.app_context():
            result = work()
            db.session.commit()
            db.session.remove()
            return result


@pytest.fixture(scope="module")
def site(app, tmp_path_factory, request) -> Iterator[Site]:
    """The module's `seed_site()` runs before the server starts: workers cache the city list,
    as in production, where cities change only through an admin and a cache clear."""
    with fresh_database(app) as url:
        instance = str(tmp_path_factory.mktemp("e2e-instance"))
        with app_for_database(url, instance) as data_app:
            with data_app.app_context():
                upgrade()
                seed = getattr(request.module, "seed_site", None)
                if seed is not None:
                    seed()
                    db.session.commit()
                    db.session.remove()
            # As deployed: members' pages are assembled from the cached shared part.
            env = {"TEST_DATABASE_URL": url, "TEST_PAGE_CACHE_SECONDS": "60"}
            with gunicorn_server(instance, env, workers=2) as base:
                yield Site(base, data_app)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, site) -> Iterator[Callable[[], Page]]:
    """Opens a page in a browser context of its own: its own cookies, so another person.
    Keyword arguments go to the context (permissions=[...], viewport={...})."""
    contexts: list[BrowserContext] = []
    # Anything the browser refused under the Content Security Policy, or a script error.
    problems: list[str] = []

    def open_(**options) -> Page:
        options = {"viewport": {"width": 1280, "height": 900}, **options}
        context = browser.new_context(base_url=site.url, **options)
        contexts.append(context)
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                problems.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        return page

    yield open_
    for context in contexts:
        context.close()
    assert problems == [], "the browser reported CSP violations or script errors"


@pytest.fixture
def page(open_page) -> Page:
    return open_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed journey leaves a screenshot in test-artifacts/ to look at."""
    report = yield
    page = item.funcargs.get("page") if report.when == "call" and report.failed else None
    if page is not None:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{item.name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            report.sections.append(("screenshot", str(path)))
        except Exception as error:  # the page may be gone; the failure itself matters more
            report.sections.append(("screenshot", f"not taken: {error}"))
    return report
