"""Each page's query budget, counted with a SQLAlchemy listener: the same for 1 row or 50."""

from datetime import timedelta

import pytest

from eventmate.extensions import cache
from tests.factories import make_city, make_event, make_image, make_review, now

BUDGETS = {"home": 4, "search": 3, "detail": 2}


def fill(rows: int):
    """`rows` upcoming events in `rows` cities with images, and one past event with reviews."""
    for n in range(rows):
        event = make_event(
            city=make_city(), category="music", starts_at=now() + timedelta(days=n + 1)
        )
        make_image(event, position=0)
        make_image(event, position=1)
    reviewed = make_event(starts_at=now() - timedelta(days=2))
    for n in range(rows):
        make_image(reviewed, position=n)
        make_review(reviewed, rating=1 + n % 5)
    return reviewed


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize(
    ("page", "url"),
    [
        ("home", "/"),
        ("search", "/events/"),
        ("search", "/events/?q=event&category=music&when=this-month&sort=price&page=2"),
        ("search", "/categories/music/"),
        ("detail", None),
    ],
)
def test_page_stays_within_its_query_budget(client, db_session, count_queries, rows, page, url):
    reviewed = fill(rows)
    db_session.commit()
    url = url or f"/events/{reviewed.slug}/"

    with count_queries() as counter:
        response = client.get(url)

    assert response.status_code == 200
    assert counter.count <= BUDGETS[page], "\n\n".join(counter.statements)


def test_query_count_does_not_grow_with_rows(client, db_session, count_queries):
    counts = {}
    for rows in (1, 30):
        fill(rows)
        db_session.commit()
        cache.clear()
        with count_queries() as counter:
            assert client.get("/events/").status_code == 200
        counts[rows] = counter.count
    assert counts[1] == counts[30]
