"""The event page's links to other services (eventmate/events/links.py): a map of the venue,
Google Calendar and Outlook, and share links, all plain URLs with no third-party script."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import make_city, make_event

PAGE_URL = "http://localhost/events/rooftop-jazz/"


@pytest.fixture
def page(client, db_session) -> str:
    lisbon = make_city(name="Lisbon", slug="lisbon", country="Portugal", timezone="Europe/Lisbon")
    make_event(
        slug="rooftop-jazz", title="Rooftop Jazz & Wine", city=lisbon, venue_name="Terraço",
        venue_address="Rua Augusta 1", starts_at=datetime(2031, 7, 4, 19, 30, tzinfo=UTC),
        ends_at=datetime(2031, 7, 4, 22, 0, tzinfo=UTC),
    )  # fmt: skip
    db_session.commit()
    response = client.get("/events/rooftop-jazz/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def link(page: str, label: str) -> tuple[str, dict[str, list[str]]]:
    """(scheme://host/path, query) of the link whose text is `label`."""
    found = re.search(rf'<a href="([^"]+)" rel="noopener noreferrer">{re.escape(label)}</a>', page)
    assert found, f"no link {label!r}"
    url = urlsplit(html.unescape(found[1]))
    return f"{url.scheme}://{url.netloc}{url.path}", parse_qs(url.query)


def test_the_venue_links_to_an_openstreetmap_search(page):
    where, query = link(page, "Map (OpenStreetMap)")
    assert where == "https://www.openstreetmap.org/search"
    assert query == {"query": ["Terraço, Rua Augusta 1, Lisbon, Portugal"]}


def test_google_calendar_and_outlook_get_the_times_in_utc(page):
    where, google = link(page, "Google Calendar")
    assert where == "https://calendar.google.com/calendar/render"
    assert google["action"] == ["TEMPLATE"]
    assert google["text"] == ["Rooftop Jazz & Wine"]
    assert google["dates"] == ["20310704T193000Z/20310704T220000Z"]
    assert google["location"] == ["Terraço, Rua Augusta 1, Lisbon, Portugal"]
    assert google["details"] == [PAGE_URL]
    assert google["ctz"] == ["Europe/Lisbon"]

    where, outlook = link(page, "Outlook")
    assert where == "https://outlook.live.com/calendar/0/deeplink/compose"
    assert outlook["subject"] == ["Rooftop Jazz & Wine"]
    assert outlook["startdt"] == ["2031-07-04T19:30:00+00:00"]
    assert outlook["enddt"] == ["2031-07-04T22:00:00+00:00"]
    assert '<a href="/events/rooftop-jazz/calendar.ics">.ics file</a>' in page


def test_share_links_carry_the_pages_address(page):
    assert link(page, "X")[1] == {"text": ["Rooftop Jazz & Wine"], "url": [PAGE_URL]}
    assert link(page, "Facebook")[1] == {"u": [PAGE_URL]}
    assert link(page, "LinkedIn")[1] == {"url": [PAGE_URL]}
    assert link(page, "WhatsApp")[1] == {"text": [f"Rooftop Jazz & Wine {PAGE_URL}"]}
    mail = html.unescape(re.search(r'<a href="(mailto:[^"]+)"', page)[1])
    # RFC 6068: spaces as %20 (a "+" would show as a plus sign in the mail).
    assert mail == (
        "mailto:?subject=Rooftop%20Jazz%20%26%20Wine"
        "&body=http%3A%2F%2Flocalhost%2Fevents%2Frooftop-jazz%2F"
    )


def test_the_address_to_copy_works_without_javascript(page):
    assert f'<input id="share-url" type="url" value="{PAGE_URL}" readonly>' in page
    # The button only appears where the script finds a clipboard to write to.
    assert '<button type="button" class="button-inline" data-copy="share-url" hidden>' in page
    assert re.search(r'<script src="/static/js/copy-link[^"]*\.js" defer></script>', page)
    assert "<script src=\"http" not in page  # no third-party script
