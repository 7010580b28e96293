"""Shared aggregates are cached in the configured store (Redis in the PostgreSQL run)."""

from datetime import timedelta

import pytest
import redis

from eventmate.extensions import cache
from eventmate.reviews.services import delete_review, save_review
from tests.factories import make_event, make_member, make_review, now


def test_home_category_counts_are_cached(client, db_session):
    make_event(category="arts")
    db_session.commit()
    assert 'Arts <span class="count">1</span>' in client.get("/").get_data(as_text=True)

    make_event(category="arts")
    db_session.commit()
    # Served from the cache until it expires or is cleared.
    assert 'Arts <span class="count">1</span>' in client.get("/").get_data(as_text=True)
    cache.clear()
    assert 'Arts <span class="count">2</span>' in client.get("/").get_data(as_text=True)


def test_cache_lives_in_redis_when_configured(app, client, db_session):
    if not app.config.get("REDIS_URL"):
        pytest.skip("no Redis configured in this run")
    make_event()
    db_session.commit()
    client.get("/")
    keys = redis.Redis.from_url(app.config["REDIS_URL"]).keys(
        app.config["CACHE_KEY_PREFIX"] + "home:*"
    )
    assert sorted(key.decode().rsplit(":", 1)[-1] for key in keys) == [
        "category-counts",
        "cities-upcoming",
    ]


@pytest.fixture
def reviewed_event(db_session):
    """A past event with one 2-star review."""
    event = make_event(starts_at=now() - timedelta(days=1))
    make_review(event, rating=2)
    db_session.commit()
    return event


def test_an_event_pages_rating_is_cached_and_forgotten_when_a_review_changes(
    app, client, db_session, reviewed_event
):
    event = reviewed_event
    url = f"/events/{event.slug}/"
    assert "<strong>2.0</strong> out of 5 · 1 review" in client.get(url).get_data(as_text=True)

    make_review(event, rating=4)  # written behind the cache's back
    db_session.commit()
    # Still the cached page's figure; a per-process cache keeps no event page.
    kept = app.config["CACHE_IS_SHARED"]
    expected = "<strong>2.0</strong> out of 5 · 1 review" if kept else "3.0</strong> out of 5 · 2"
    assert expected in client.get(url).get_data(as_text=True)

    review = save_review(make_member(), event, 5, "Great.")  # through the service: forgotten
    assert "<strong>3.7</strong> out of 5 · 3 reviews" in client.get(url).get_data(as_text=True)
    delete_review(review)
    assert "<strong>3.0</strong> out of 5 · 2 reviews" in client.get(url).get_data(as_text=True)


def test_a_search_count_is_shared_by_its_pages_and_sorts_until_listings_change(
    client, db_session, count_queries
):
    from eventmate.hosts.services import set_active

    cache.clear()
    events = [make_event(category="arts") for _ in range(3)]
    db_session.commit()
    with count_queries() as first:
        assert "3 upcoming events" in client.get("/events/?category=arts").get_data(as_text=True)
    with count_queries() as resorted:
        page = client.get("/events/?category=arts&sort=price").get_data(as_text=True)
    assert "3 upcoming events" in page

    def counts(counter) -> int:
        return sum("count(" in statement.lower() for statement in counter.statements)

    assert (counts(first), counts(resorted)) == (1, 0)  # the count came from the cache

    set_active(events[0], False)  # a listing changed: the count is not served stale
    assert "2 upcoming events" in client.get("/events/?category=arts").get_data(as_text=True)


def test_a_rating_computed_before_a_review_and_stored_after_it_is_not_served(
    client, reviewed_event
):
    event = reviewed_event
    url = f"/events/{event.slug}/"
    client.get(url)
    late = cache.get(f"rating:{event.id}")  # what a slow render computed before...
    save_review(make_member(), event, 4, "Better than expected.")
    cache.set(f"rating:{event.id}", late)  # ...and stored after the review
    assert "<strong>3.0</strong> out of 5 · 2 reviews" in client.get(url).get_data(as_text=True)
