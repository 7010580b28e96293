"""Phone layout (issue 16, item 4): no page is wider than a phone's screen, signed out, as a
member or as a host, at 360 and 390 px; the header's links fold behind a Menu button there
and show as they are on a wide screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from eventmate.auth.services import hash_password
from tests.conftest import PASSWORD
from tests.e2e.journeys import (
    HOST,
    LONG_NAME,
    MEMBER,
    PUBLIC,
    log_in,
    seed_people_and_an_event,
)
from tests.factories import make_user

WIDTHS = (360, 390)


def seed_site() -> None:
    seed_people_and_an_event()
    # Renames herself (the journey below), so the other members' long name stays as it is.
    make_user(email="rena@example.com", display_name="Rena",
              password_hash=hash_password(PASSWORD))  # fmt: skip


# The outermost elements that end past the screen's right edge, to say what to fix.
WIDEST = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right
                                   <= window.innerWidth + 0.5)
  .slice(0, 3).map(e => `${e.tagName.toLowerCase()}.${e.className}`)"""


def too_wide(page: Page, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        page.goto(path)
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            wide = page.evaluate(WIDEST)
            found.append(f"{path}: {width} px in {inner} ({', '.join(wide)})")
    return found


@pytest.mark.parametrize(("who", "paths"), [
    (None, PUBLIC), ("member@example.com", MEMBER), ("host@example.com", HOST),
])  # fmt: skip
def test_no_page_is_wider_than_a_phone(page: Page, who, paths):
    if who:
        log_in(page, who)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert too_wide(page, paths) == [], f"at {width} px"


def test_the_header_folds_behind_a_menu_on_a_phone(page: Page):
    log_in(page, "member@example.com")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/")
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(log_out).to_be_visible()
    expect(page.get_by_role("link", name="My bookings")).to_be_visible()

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/")
    expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_on_a_phone_filters_start_folded_and_booking_is_near_the_top(page: Page):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/events/")
    keywords = page.get_by_label("Keywords")
    expect(keywords).to_be_hidden()
    page.get_by_text("Filters", exact=True).click()
    expect(keywords).to_be_visible()

    page.goto("/events/harbour-lights/")
    bar = page.locator(".booking-bar")
    expect(bar).to_contain_text("€10.00 a seat · 37 seats left")
    about = page.get_by_role("heading", name="About this event")
    assert bar.bounding_box()["y"] < about.bounding_box()["y"]  # before the description
    bar.get_by_role("link", name="Book").click()
    expect(page).to_have_url(re.compile(r"/events/harbour-lights/#book$"))

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/events/")
    expect(page.get_by_label("Keywords")).to_be_visible()
    expect(page.get_by_text("Filters", exact=True)).to_be_hidden()
    page.goto("/events/harbour-lights/")
    expect(page.locator(".booking-bar")).to_be_hidden()


def test_on_a_phone_the_header_name_leads_to_the_account_page_and_shows_a_new_name(page: Page):
    log_in(page, "rena@example.com")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/")
    page.get_by_text("Menu", exact=True).click()
    page.get_by_role("link", name="Rena", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()

    page.get_by_label("Your name").fill(LONG_NAME)
    page.get_by_role("button", name="Save the name").click()
    expect(page.get_by_text(f"Your name is now {LONG_NAME}.")).to_be_visible()
    page.get_by_text("Menu", exact=True).click()
    expect(page.get_by_role("link", name=LONG_NAME, exact=True)).to_be_visible()
    assert too_wide(page, ["/account/"]) == []
