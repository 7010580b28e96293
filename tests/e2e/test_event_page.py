"""The event page in a real browser, at 1280 and 390 px (issue 16, items 11 and 12): a sold-out
event suggests similar events with seats beside its waitlist, each one a working link; "Copy
link" puts the page's address on the clipboard; the map, calendar and share links point where
they should."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.models import Event
from tests.e2e.journeys import MEMBER_EMAIL, log_in, seed_people_and_an_event
from tests.factories import make_booking, make_city, make_event, now

WIDTHS = (1280, 390)
SOLD_OUT = "quay-quartet"
# The four soonest upcoming events with seats left in its category (arts) or its city.
SUGGESTED = ["Canal Sketching", "Gallery Night", "Print Fair",
             "Harbour Lights Festival of Lanterns"]  # fmt: skip


def seed_site() -> None:
    """Around a sold-out arts event in Rotterdam: four events that should be suggested and
    four that shouldn't (the fifth match, unrelated, sold out, over)."""
    rotterdam = seed_people_and_an_event().city  # harbour-lights: Rotterdam, music, in 7 days
    utrecht = make_city(name="Utrecht", slug="utrecht", country="Netherlands",
                        timezone="Europe/Amsterdam")  # fmt: skip
    leiden = make_city(name="Leiden", slug="leiden", country="Netherlands",
                       timezone="Europe/Amsterdam")  # fmt: skip
    quartet = make_event(slug=SOLD_OUT, title="Quay Quartet", city=rotterdam, category="arts",
                         capacity=2, starts_at=now() + timedelta(days=4))  # fmt: skip
    make_booking(quartet, quantity=2)

    def event(title: str, city, category: str, days: float, **fields) -> Event:
        slug = re.sub(r"\W+", "-", title.lower())
        return make_event(slug=slug, title=title, city=city, category=category,
                          starts_at=now() + timedelta(days=days), **fields)  # fmt: skip

    event("Canal Sketching", utrecht, "arts", 2)
    event("Gallery Night", utrecht, "arts", 3)
    event("Print Fair", leiden, "arts", 5)
    event("Harbour Food Market", rotterdam, "food", 9)  # a fifth match: one too many
    event("Leiden Tech Talk", leiden, "tech", 1)  # neither the category nor the city
    make_booking(event("Sculpture Sold Out", utrecht, "arts", 1, capacity=1))
    event("Yesterday's Dance", rotterdam, "arts", -1)


def times(slug: str) -> tuple[datetime, datetime]:
    starts_at, ends_at = db.session.execute(
        select(Event.starts_at, Event.ends_at).where(Event.slug == slug)
    ).one()
    return starts_at.astimezone(UTC), ends_at.astimezone(UTC)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_sold_out_event_suggests_similar_events_beside_its_waitlist(page: Page, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, MEMBER_EMAIL)
    page.goto(f"/events/{SOLD_OUT}/")
    expect(page.get_by_role("button", name="Join the waitlist")).to_be_visible()
    similar = page.get_by_role("region", name="Seats are still free at these")
    expect(similar).to_be_visible()
    cards = similar.locator(".card-title")
    expect(cards).to_have_text(SUGGESTED)

    for title in SUGGESTED:
        similar.get_by_role("link", name=re.compile(re.escape(title))).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        assert urlsplit(page.url).path != f"/events/{SOLD_OUT}/"
        page.go_back()
        expect(cards).to_have_count(4)


@pytest.mark.parametrize("width", WIDTHS)
def test_copy_link_puts_the_pages_address_on_the_clipboard(open_page, site, width):
    page = open_page(
        viewport={"width": width, "height": 900},
        permissions=["clipboard-read", "clipboard-write"],
    )
    page.goto("/events/harbour-lights/")
    address = f"{site.url}/events/harbour-lights/"
    expect(page.get_by_label("Link to this page")).to_have_value(address)
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator(".copy-status")).to_have_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == address


def query_of(page: Page, name: str) -> tuple[str, dict[str, list[str]]]:
    """(scheme://host/path, query) of the page's one link called `name`."""
    url = urlsplit(page.get_by_role("link", name=name, exact=True).get_attribute("href"))
    return f"{url.scheme}://{url.netloc}{url.path}", parse_qs(url.query)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_map_calendar_and_share_links_point_at_the_event(page: Page, site, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/events/harbour-lights/")
    title = "Harbour Lights Festival of Lanterns"
    address = f"{site.url}/events/harbour-lights/"
    venue = "Test Hall, 1 Test Street, Rotterdam, Netherlands"
    starts_at, ends_at = site.run(lambda: times("harbour-lights"))
    stamp = "%Y%m%dT%H%M%SZ"

    assert query_of(page, "Map (OpenStreetMap)") == (
        "https://www.openstreetmap.org/search", {"query": [venue]},
    )  # fmt: skip
    assert query_of(page, "Google Calendar") == ("https://calendar.google.com/calendar/render", {
        "action": ["TEMPLATE"], "text": [title], "details": [address], "location": [venue],
        "dates": [f"{starts_at.strftime(stamp)}/{ends_at.strftime(stamp)}"],
        "ctz": ["Europe/Amsterdam"],
    })  # fmt: skip
    outlook, query = query_of(page, "Outlook")
    assert outlook == "https://outlook.live.com/calendar/0/deeplink/compose"
    assert (query["subject"], query["body"], query["location"]) == ([title], [address], [venue])
    assert datetime.fromisoformat(query["startdt"][0]) == starts_at.replace(microsecond=0)
    assert datetime.fromisoformat(query["enddt"][0]) == ends_at.replace(microsecond=0)

    assert query_of(page, "Email") == ("mailto://", {"subject": [title], "body": [address]})
    assert query_of(page, "WhatsApp") == ("https://wa.me/", {"text": [f"{title} {address}"]})
    assert query_of(page, "X") == (
        "https://twitter.com/intent/tweet", {"text": [title], "url": [address]},
    )  # fmt: skip
    assert query_of(page, "Facebook") == (
        "https://www.facebook.com/sharer/sharer.php", {"u": [address]},
    )  # fmt: skip
    assert query_of(page, "LinkedIn") == (
        "https://www.linkedin.com/sharing/share-offsite/", {"url": [address]},
    )  # fmt: skip
