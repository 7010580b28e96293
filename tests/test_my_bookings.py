"""My bookings: cancelled bookings of events still to come in their own list, and the private
calendar feed offered with a copy button and how to subscribe to it."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.conftest import page_text
from tests.factories import make_booking, make_event, now


def sections(page: str) -> dict[str, str]:
    """Each <section>'s text on the page, by its heading's id."""
    found = re.findall(r'<section[^>]*aria-labelledby="([\w-]+)"(.*?)</section>', page, re.S)
    return dict(found)


def test_a_cancelled_booking_of_a_coming_event_is_listed_under_cancelled(
    client, db_session, member
):
    make_booking(make_event(title="Going Show"), user=member)
    dropped = make_event(title="Dropped Show", starts_at=now() + timedelta(days=3))
    make_booking(dropped, user=member, status="cancelled", cancelled_at=now())
    gone = make_event(title="Old Dropped Show", starts_at=now() - timedelta(days=3))
    make_booking(gone, user=member, status="cancelled", cancelled_at=now() - timedelta(days=5))
    db_session.commit()

    response = client.get("/me/bookings/")
    found = sections(page_text(response))

    assert response.status_code == 200
    assert "Going Show" in found["upcoming-heading"]
    assert "Dropped Show" not in found["upcoming-heading"]
    assert "Dropped Show" in found["cancelled-heading"]
    assert "Cancelled" in found["cancelled-heading"]  # the booking's standing
    assert "Going Show" not in found["cancelled-heading"]
    assert "Old Dropped Show" in found["past-heading"]  # a past one stays with the past
    assert "Old Dropped Show" not in found["cancelled-heading"]


def test_without_cancelled_bookings_there_is_no_cancelled_list(client, db_session, member):
    make_booking(make_event(title="Going Show"), user=member)
    db_session.commit()

    page = page_text(client.get("/me/bookings/"))

    assert "Going Show" in sections(page)["upcoming-heading"]
    assert 'id="cancelled-heading"' not in page


def test_the_cancelled_list_has_pages_and_keeps_the_others(app, client, db_session, member,
                                                           monkeypatch):  # fmt: skip
    monkeypatch.setitem(app.config, "BOOKINGS_PER_PAGE", 2)
    for day in range(1, 4):
        event = make_event(title=f"Dropped {day}", starts_at=now() + timedelta(days=day))
        make_booking(event, user=member, status="cancelled", cancelled_at=now())
    db_session.commit()

    first = page_text(client.get("/me/bookings/"))
    second = page_text(client.get("/me/bookings/?cancelled=2"))

    assert re.findall(r"Dropped \d", sections(first)["cancelled-heading"]) == [
        "Dropped 1", "Dropped 2",
    ]  # fmt: skip
    assert 'href="/me/bookings/?cancelled=2"' in first
    assert re.findall(r"Dropped \d", sections(second)["cancelled-heading"]) == ["Dropped 3"]


def test_the_calendar_feed_is_offered_to_copy_with_how_to_subscribe(client, db_session, member):
    response = client.get("/me/bookings/")
    feed = sections(page_text(response))["feed-heading"]

    assert response.status_code == 200
    field = re.search(r'<input id="feed-url" type="url" value="([^"]+)" readonly>', feed)
    assert field.group(1).startswith("http://localhost/me/bookings.ics?key=")
    assert '<label for="feed-url">' in feed
    # The button copies the field (static/js/copy-link.js, loaded by the page).
    assert '<button type="button" class="button-inline" data-copy="feed-url" hidden>' in feed
    assert re.search(r'<script src="/static/js/copy-link[^"]*\.js" defer></script>', response.text)
    assert "Google Calendar: beside “Other calendars”, + then <strong>From URL</strong>" in feed
    assert "Apple Calendar: File, <strong>New Calendar Subscription</strong>" in feed
    assert "Outlook: Add calendar, <strong>Subscribe from web</strong>" in feed
    assert "Reset my calendar link" in feed


def test_my_bookings_with_every_list_stays_within_its_budget(
    client, db_session, member, count_queries
):
    """The member (a query unless the cache is shared), the three lists' counts in one query,
    a page of each, the ratings of the past page's events: 6 at most, however many bookings."""
    for n in range(10):
        make_booking(make_event(), user=member)
        make_booking(make_event(), user=member, status="cancelled", cancelled_at=now())
        make_booking(make_event(starts_at=now() - timedelta(days=n + 1)), user=member)
    db_session.commit()
    client.get("/")  # the member's snapshot taken (with a shared cache), as on any earlier page

    with count_queries() as counter:
        assert client.get("/me/bookings/").status_code == 200

    assert counter.count <= 6, "\n".join(counter.statements)
