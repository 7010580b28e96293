"""Which cached pages a change refreshes, and how long a page is kept: an event page depends
on its own event only; listings on what their cards show and what their filters find
(eventmate/pagecache/keys.py, eventmate/hosts/services.py `event_changed`)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.models import Event
from eventmate.pagecache.keys import entry_seconds
from tests.factories import make_event, now
from tests.test_hosts import create, edit, event_data, host, lisbon  # noqa: F401 (fixtures)

LISTINGS = ["/", "/events/", "/cities/lisbon/", "/categories/music/"]


@pytest.fixture
def fado(client, page_cache, host, lisbon):  # noqa: F811 (fixtures)
    """An event created through the host's form, and that form's data, to edit it with."""
    data = event_data(lisbon)
    assert create(client, data).status_code == 303
    return db.session.scalar(select(Event).where(Event.title == data["title"])), data


@pytest.fixture
def other_event(db_session, lisbon):  # noqa: F811 (fixtures)
    made = make_event(city=lisbon, title="Harbour Jazz Night")
    db_session.commit()
    return made


def cache_states(visitor, urls: list[str]) -> dict[str, str]:
    return {url: visitor.get(url).headers["X-Cache"] for url in urls}


def test_a_description_edit_refreshes_its_page_and_text_searches_only(
    app, client, fado, other_event
):
    event, data = fado
    visitor = app.test_client()
    untouched = [*LISTINGS, f"/events/{other_event.slug}/"]
    refreshed = ["/events/?q=marmalade", f"/events/{event.slug}/"]
    assert "Fado by the River" not in visitor.get(refreshed[0]).get_data(as_text=True)
    for url in untouched + refreshed[1:]:
        visitor.get(url)
    description = data["description"] + " Marmalade tasting too."
    assert edit(client, event, {**data, "description": description}).status_code == 303
    assert cache_states(visitor, untouched) == dict.fromkeys(untouched, "HIT")
    assert cache_states(visitor, refreshed) == dict.fromkeys(refreshed, "MISS")
    assert "Fado by the River" in visitor.get(refreshed[0]).get_data(as_text=True)
    assert "Marmalade tasting" in visitor.get(refreshed[1]).get_data(as_text=True)


def test_a_title_edit_refreshes_every_listing_but_no_other_events_page(
    app, client, fado, other_event
):
    event, data = fado
    visitor = app.test_client()
    for url in [*LISTINGS, f"/events/{other_event.slug}/"]:
        visitor.get(url)
    assert edit(client, event, {**data, "title": "Fado at Midnight"}).status_code == 303
    assert cache_states(visitor, LISTINGS) == dict.fromkeys(LISTINGS, "MISS")
    assert "Fado at Midnight" in visitor.get("/events/").get_data(as_text=True)
    assert visitor.get(f"/events/{other_event.slug}/").headers["X-Cache"] == "HIT"


def test_event_pages_are_kept_longer_than_listings_but_not_past_the_start():
    config = {"PAGE_CACHE_SECONDS": 60, "EVENT_PAGE_CACHE_SECONDS": 300}
    moment = now()
    assert entry_seconds(config, "events.search", None, moment) == 60
    assert entry_seconds(config, "events.detail", moment + timedelta(days=3), moment) == 300
    assert entry_seconds(config, "events.detail", moment + timedelta(seconds=42.5), moment) == 42
    assert entry_seconds(config, "events.detail", moment + timedelta(seconds=0.5), moment) == 0
    assert entry_seconds(config, "events.detail", moment - timedelta(hours=1), moment) == 300
    off = {**config, "EVENT_PAGE_CACHE_SECONDS": 0}  # 0 is not "forever": the listings' time
    assert entry_seconds(off, "events.detail", None, moment) == 60


def test_a_cached_event_page_stops_offering_seats_when_the_event_starts(
    client, page_cache, db_session
):
    soon = make_event(starts_at=now() + timedelta(seconds=2))
    db_session.commit()
    url = f"/events/{soon.slug}/"
    assert "Log in to book" in client.get(url).get_data(as_text=True)
    assert client.get(url).headers["X-Cache"] == "HIT"
    time.sleep(max(0.0, (soon.starts_at - now()).total_seconds()) + 1.1)
    started = client.get(url)
    assert started.headers["X-Cache"] == "MISS"
    assert "This event has already started." in started.get_data(as_text=True)


def test_an_invalidation_reaches_redis_while_this_worker_skips_it(app, page_cache, event):
    """A blip opened this worker's breaker: the version bump is tried anyway, or other workers
    would serve the old page for as long as it is kept."""
    from eventmate.extensions import cache
    from eventmate.pagecache import invalidate_event
    from eventmate.pagecache.keys import event_version_key
    from eventmate.resilience import ResilientRedisCache

    if not isinstance(cache.cache, ResilientRedisCache):
        pytest.skip("no Redis configured in this run (the PostgreSQL pass has one)")
    backend = cache.cache
    before = cache.get(event_version_key(event.slug))
    backend.breaker.trip(RuntimeError("a blip"))
    try:
        invalidate_event(event.slug)
    finally:
        backend.breaker._open_until = 0.0
    assert cache.get(event_version_key(event.slug)) not in (None, before)
