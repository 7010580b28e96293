"""The load test asks for pages as the site spells them: a redirect would be counted as a
page served (wrk counts any answer) and never reach the page caches."""

from __future__ import annotations

import random

from loadtest.dataset import WHEN, Sample, page_path, search_path
from tests.factories import make_city, make_event


def test_generated_searches_and_pages_are_canonical_urls(client, db_session):
    city = make_city(slug="lisbon", name="Lisbon")
    event = make_event(title="Harbour Jazz Night", city=city, category="music")
    db_session.commit()
    sample = Sample(
        events=[event.slug], bookable=[event.slug], cities=["lisbon"],
        categories=["music", "food"], words=["jazz", "night", "harbour"], when=WHEN,
    )  # fmt: skip
    rng = random.Random(1)
    paths = [search_path(rng, sample, always_query=n % 2 == 0) for n in range(600)]
    paths += [page_path(rng, sample, kind) for kind in ("home", "city", "category", "event")]
    for path in paths:
        assert client.get(path).status_code == 200, path
