"""Which cached pages a change refreshes (the version tokens they are kept under move on), and
how long a page is kept: an event page depends on its own event only; listings on what their
cards show and what their filters find (eventmate/pagecache/keys.py,
eventmate/hosts/services.py `event_changed`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from eventmate.caching import LISTINGS, TEXT_SEARCH, event_token
from eventmate.extensions import cache, db
from eventmate.models import Event
from eventmate.pagecache.keys import entry_seconds
from tests.conftest import csrf_token
from tests.factories import make_city, make_event, make_image, now
from tests.test_hosts import create, edit, event_data
from tests.test_images import image_bytes, upload


@pytest.fixture
def fado(client, host, lisbon):
    """An event created through the host's form and published, and that form's data, to edit
    it with."""
    data = event_data(lisbon)
    assert create(client, data).status_code == 303
    made = db.session.scalar(select(Event).where(Event.title == data["title"]))
    token = csrf_token(client, "/host/")
    assert client.post(f"/host/events/{made.slug}/publish/",
                       data={"csrf_token": token}).status_code == 303  # fmt: skip
    return made, data


@pytest.fixture
def porto(db_session):
    """A second city, made before the host's form reads (and caches) the city list."""
    city = make_city(name="Porto", slug="porto", country="Portugal", timezone="Europe/Lisbon")
    db_session.commit()
    return city


@pytest.fixture
def other_event(db_session, lisbon):
    made = make_event(city=lisbon, title="Harbour Jazz Night")
    db_session.commit()
    return made


def tokens(*slugs: str) -> dict[str, str | None]:
    """The version tokens cached pages are kept under: listings, text searches, each event."""
    keys = [LISTINGS, TEXT_SEARCH, *map(event_token, slugs)]
    return dict(zip(keys, cache.get_many(*keys), strict=True))


def moved(before: dict, after: dict) -> set[str]:
    return {key for key in before if before[key] != after[key]}


def test_a_description_edit_refreshes_its_page_and_text_searches_only(client, fado, other_event):
    event, data = fado
    before = tokens(event.slug, other_event.slug)
    description = data["description"] + " Marmalade tasting too."
    assert edit(client, event, {**data, "description": description}).status_code == 303
    after = tokens(event.slug, other_event.slug)
    assert moved(before, after) == {TEXT_SEARCH, event_token(event.slug)}


def test_a_title_edit_refreshes_every_listing_but_no_other_events_page(client, fado, other_event):
    event, data = fado
    before = tokens(event.slug, other_event.slug)
    assert edit(client, event, {**data, "title": "Fado at Midnight"}).status_code == 303
    after = tokens(event.slug, other_event.slug)
    assert moved(before, after) == {LISTINGS, event_token(event.slug)}


def shifted(value: str, days: int) -> str:
    return (datetime.fromisoformat(value) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


# Each one changes what a card shows or what a filter finds (_macros.html event_card, the
# search's category, city, date and sort); the function gets the form data and another city.
LISTED_EDITS = {
    "category": lambda data, city: {"category": "food"},
    "city": lambda data, city: {"city_id": str(city.id)},
    "start": lambda data, city: {
        "starts_at": shifted(data["starts_at"], 1),
        "ends_at": shifted(data["ends_at"], 1),
    },
    "capacity": lambda data, city: {"capacity": "60"},
    "price": lambda data, city: {"price": "30.00"},
    "currency": lambda data, city: {"currency": "GBP"},
}


@pytest.mark.parametrize("change", LISTED_EDITS.values(), ids=LISTED_EDITS)
def test_an_edit_to_what_listings_show_or_find_refreshes_every_listing(
    client, porto, fado, other_event, change
):
    event, data = fado
    before = tokens(event.slug, other_event.slug)
    assert edit(client, event, {**data, **change(data, porto)}).status_code == 303
    after = tokens(event.slug, other_event.slug)
    assert moved(before, after) == {LISTINGS, event_token(event.slug)}


def test_adding_moving_or_deleting_an_image_refreshes_every_listing(
    client, db_session, fado, other_event
):
    event, _ = fado
    first = make_image(event, position=0, alt_text="first")
    second = make_image(event, position=1, alt_text="second")
    db_session.commit()
    base = f"/host/events/{event.slug}/images"
    token = csrf_token(client, f"{base}/")
    steps = {
        "add": lambda: upload(client, event, image_bytes()),
        "move": lambda: client.post(
            f"{base}/{second.id}/move/", data={"csrf_token": token, "direction": "up"}
        ),
        "delete": lambda: client.post(f"{base}/{first.id}/delete/", data={"csrf_token": token}),
    }
    for name, step in steps.items():
        before = tokens(event.slug, other_event.slug)
        assert step().status_code == 303, name
        after = tokens(event.slug, other_event.slug)
        assert moved(before, after) == {LISTINGS, event_token(event.slug)}, name
    db.session.expire_all()
    assert [image.alt_text for image in event.images][:1] == ["second"]  # the cover changed


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
    from eventmate.caching import event_token, invalidate_event
    from eventmate.extensions import cache
    from eventmate.resilience import ResilientRedisCache

    if not isinstance(cache.cache, ResilientRedisCache):
        pytest.skip("no Redis configured in this run (the PostgreSQL pass has one)")
    backend = cache.cache
    before = cache.get(event_token(event.slug))
    backend.breaker.trip(RuntimeError("a blip"))
    try:
        invalidate_event(event.slug)
    finally:
        backend.breaker._open_until = 0.0
    assert cache.get(event_token(event.slug)) not in (None, before)
