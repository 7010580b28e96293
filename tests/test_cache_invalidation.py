"""Which cached pages a change refreshes (the version tokens they are kept under move on), and
how long a page is kept: an event page depends on its own event only; listings on what their
cards show and what their filters find (eventmate/pagecache/keys.py,
eventmate/hosts/services.py `event_changed`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from eventmate.extensions import cache, db
from eventmate.models import Event
from eventmate.pagecache.keys import (
    LISTINGS_VERSION,
    TEXT_SEARCH_VERSION,
    entry_seconds,
    event_version_key,
)
from tests.factories import make_event, now
from tests.test_hosts import create, edit, event_data, host, lisbon  # noqa: F401 (fixtures)


@pytest.fixture
def fado(client, host, lisbon):  # noqa: F811 (fixtures)
    """An event created through the host's form, and that form's data, to edit it with."""
    data = event_data(lisbon)
    assert create(client, data).status_code == 303
    return db.session.scalar(select(Event).where(Event.title == data["title"])), data


@pytest.fixture
def other_event(db_session, lisbon):  # noqa: F811 (fixtures)
    made = make_event(city=lisbon, title="Harbour Jazz Night")
    db_session.commit()
    return made


def tokens(*slugs: str) -> dict[str, str | None]:
    """The version tokens cached pages are kept under: listings, text searches, each event."""
    keys = [LISTINGS_VERSION, TEXT_SEARCH_VERSION, *map(event_version_key, slugs)]
    return dict(zip(keys, cache.get_many(*keys), strict=True))


def moved(before: dict, after: dict) -> set[str]:
    return {key for key in before if before[key] != after[key]}


def test_a_description_edit_refreshes_its_page_and_text_searches_only(client, fado, other_event):
    event, data = fado
    before = tokens(event.slug, other_event.slug)
    description = data["description"] + " Marmalade tasting too."
    assert edit(client, event, {**data, "description": description}).status_code == 303
    after = tokens(event.slug, other_event.slug)
    assert moved(before, after) == {TEXT_SEARCH_VERSION, event_version_key(event.slug)}


def test_a_title_edit_refreshes_every_listing_but_no_other_events_page(
    client, fado, other_event
):
    event, data = fado
    before = tokens(event.slug, other_event.slug)
    assert edit(client, event, {**data, "title": "Fado at Midnight"}).status_code == 303
    after = tokens(event.slug, other_event.slug)
    assert moved(before, after) == {LISTINGS_VERSION, event_version_key(event.slug)}


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


def test_an_invalidation_reaches_redis_while_this_worker_skips_it(app, event):
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
