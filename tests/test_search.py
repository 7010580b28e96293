import html
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask import url_for

from tests.factories import make_city, make_event, now


def titles_in(response) -> list[str]:
    """Event titles in page order, read from the result cards."""
    page = response.get_data(as_text=True)
    return re.findall(r'<h[23] class="card-title">(.*?)</h[23]>', page)  # h2 here, h3 on home


def test_search_lists_only_active_upcoming_events_by_date(client, db_session):
    make_event(title="Second", starts_at=now() + timedelta(days=3))
    make_event(title="First", starts_at=now() + timedelta(days=1))
    make_event(title="Over", starts_at=now() - timedelta(hours=1))
    make_event(title="Withdrawn", is_active=False)
    db_session.commit()

    response = client.get("/events/")

    assert response.status_code == 200
    assert titles_in(response) == ["First", "Second"]
    assert "2 upcoming events" in response.get_data(as_text=True)


def test_search_filters_by_category(client, db_session):
    make_event(title="Rust Meetup", category="tech")
    make_event(title="Cheese Tasting", category="food")
    db_session.commit()
    assert titles_in(client.get("/events/?category=tech")) == ["Rust Meetup"]


def test_search_filters_by_city(client, db_session):
    lisbon = make_city(name="Lisbon", slug="lisbon", timezone="Europe/Lisbon")
    make_event(title="Fado Night", city=lisbon)
    make_event(title="Elsewhere Night")
    db_session.commit()
    assert titles_in(client.get("/events/?city=lisbon")) == ["Fado Night"]


def test_city_menu_lists_every_city_and_marks_the_chosen_one(client, db_session):
    make_city(name="Lisbon", slug="lisbon", timezone="Europe/Lisbon")
    make_city(name="Porto & Braga", slug="porto", timezone="Europe/Lisbon")
    make_city(name="{Braces} {0}", slug="braces", timezone="Europe/Lisbon")  # no str.format
    db_session.commit()

    page = client.get("/events/?city=porto").get_data(as_text=True)
    assert '<option value="porto" selected>Porto &amp; Braga</option>' in page
    assert '<option value="lisbon">Lisbon</option>' in page
    assert '<option value="braces">{Braces} {0}</option>' in page
    assert page.count(" selected>") == 2  # Porto, and the sort order
    assert client.get("/events/").get_data(as_text=True).count(" selected>") == 1  # the sort


def test_the_shared_city_list_holds_plain_immutable_values(app, db_session):
    """Shared between requests (and processes, through the cache): never ORM objects, which a
    session could attach, expire or change."""
    import dataclasses

    from eventmate.events import cities as city_list
    from eventmate.events import queries
    from eventmate.extensions import cache

    make_event(city=make_city(name="Lisbon", slug="lisbon", timezone="Europe/Lisbon"))
    db_session.commit()
    shared = city_list.all_cities()
    assert city_list.all_cities() is shared  # reused while nothing changed
    lisbon = city_list.cities_by_slug()["lisbon"]
    assert isinstance(lisbon, city_list.CityInfo)
    assert (lisbon.name, lisbon.zone.key) == ("Lisbon", "Europe/Lisbon")
    with pytest.raises(dataclasses.FrozenInstanceError):
        lisbon.name = "Changed"  # type: ignore[misc]
    assert all(isinstance(city, city_list.CityInfo) for city in cache.get("cities:all")[1])
    top = queries.cities_with_upcoming(now(), cache_seconds=60)
    assert [(city.slug, count) for city, count in top] == [("lisbon", 1)]
    cached = cache.get("home:cities-upcoming")[1]
    assert all(isinstance(city, city_list.CityInfo) for city, _ in cached)
    cache.delete("home:cities-upcoming")


def test_search_filters_by_date_range_in_the_city_time_zone(client, db_session):
    tokyo = make_city(name="Tokyo", slug="tokyo", timezone="Asia/Tokyo")
    day = (now() + timedelta(days=10)).astimezone(ZoneInfo("Asia/Tokyo")).date()
    local_morning = datetime(day.year, day.month, day.day, 9, tzinfo=ZoneInfo("Asia/Tokyo"))
    # 01:00 Tokyo time on `day` is still the previous day in UTC.
    make_event(title="Early Bird", city=tokyo, starts_at=local_morning - timedelta(hours=8))
    make_event(title="Next Day", city=tokyo, starts_at=local_morning + timedelta(days=1))
    db_session.commit()

    response = client.get(f"/events/?city=tokyo&from={day}&to={day}")

    assert titles_in(response) == ["Early Bird"]


def test_search_date_shortcut_today(client, db_session, clock):
    clock(datetime(2026, 12, 6, 23, 30, tzinfo=UTC))  # Sunday, half an hour before midnight
    make_event(title="Tonight", starts_at=datetime(2026, 12, 6, 23, 45, tzinfo=UTC))
    make_event(title="After Midnight", starts_at=datetime(2026, 12, 7, 0, 15, tzinfo=UTC))
    make_event(title="Next Week", starts_at=datetime(2026, 12, 14, 20, tzinfo=UTC))
    db_session.commit()
    assert titles_in(client.get("/events/?when=today")) == ["Tonight"]


WEEKEND = {  # the weekend of Saturday 5 and Sunday 6 December 2026, seen from
    "wednesday": (datetime(2026, 12, 2, 12, tzinfo=UTC), ["Saturday Lunch", "Sunday Supper"]),
    "saturday-morning": (
        datetime(2026, 12, 5, 9, tzinfo=UTC),
        ["Saturday Lunch", "Sunday Supper"],
    ),
    "sunday-afternoon": (datetime(2026, 12, 6, 15, tzinfo=UTC), ["Sunday Supper"]),
}


@pytest.mark.parametrize(("moment", "expected"), WEEKEND.values(), ids=WEEKEND)
def test_search_this_weekend_covers_saturday_and_sunday(
    client, db_session, clock, moment, expected
):
    clock(moment)
    make_event(title="Friday Drinks", starts_at=datetime(2026, 12, 4, 20, tzinfo=UTC))
    make_event(title="Saturday Lunch", starts_at=datetime(2026, 12, 5, 12, tzinfo=UTC))
    make_event(title="Sunday Supper", starts_at=datetime(2026, 12, 6, 20, tzinfo=UTC))
    make_event(title="Monday Standup", starts_at=datetime(2026, 12, 7, 9, tzinfo=UTC))
    db_session.commit()

    assert titles_in(client.get("/events/?when=this-weekend")) == expected


def test_search_free_text_matches_title_and_description(client, db_session):
    make_event(title="Harbour Jazz Night", description="Saxophones by the water.")
    make_event(title="Quiet Evening", description="An intimate jazz trio plays standards.")
    make_event(title="Pottery Class", description="Clay and wheels.")
    db_session.commit()

    titles = titles_in(client.get("/events/?q=jazz"))

    assert sorted(titles) == ["Harbour Jazz Night", "Quiet Evening"]
    # Ranked: a title match beats a description match.
    assert titles[0] == "Harbour Jazz Night"


def test_search_free_text_needs_every_word(client, db_session):
    make_event(title="Python Meetup", description="Talks and pizza.")
    make_event(title="Python Workshop", description="Bring a laptop.")
    db_session.commit()
    assert titles_in(client.get("/events/?q=python+pizza")) == ["Python Meetup"]


def test_search_text_with_sql_wildcards_is_literal(client, db_session):
    make_event(title="Half price 50% off night")
    make_event(title="Regular night", description="Room for 500 guests.")  # "50" + anything
    db_session.commit()
    response = client.get("/events/?q=50%25")
    assert response.status_code == 200
    assert titles_in(response) == ["Half price 50% off night"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("date", ["Soon", "Middle", "Late"]),
        ("price", ["Middle", "Late", "Soon"]),
        ("newest", ["Late", "Soon", "Middle"]),
    ],
)
def test_search_sorts(client, db_session, sort, expected):
    base = now()
    make_event(
        title="Soon",
        starts_at=base + timedelta(days=1),
        price=Decimal("30"),
        created_at=base - timedelta(days=2),
    )
    make_event(
        title="Middle",
        starts_at=base + timedelta(days=2),
        price=Decimal("0"),
        created_at=base - timedelta(days=3),
    )
    make_event(
        title="Late",
        starts_at=base + timedelta(days=3),
        price=Decimal("12.50"),
        created_at=base - timedelta(days=1),
    )
    db_session.commit()
    assert titles_in(client.get(f"/events/?sort={sort}", follow_redirects=True)) == expected


def test_search_pages_twenty_at_a_time_with_total_and_links(client, db_session):
    for day in range(45):
        make_event(title=f"Day {day:02d}", starts_at=now() + timedelta(days=day + 1))
    db_session.commit()

    first = client.get("/events/")
    third = client.get("/events/?page=3")

    assert titles_in(first)[:2] == ["Day 00", "Day 01"]
    assert len(titles_in(first)) == 20
    assert titles_in(third) == ["Day 40", "Day 41", "Day 42", "Day 43", "Day 44"]
    page = first.get_data(as_text=True)
    assert "45 upcoming events · page 1 of 3" in page
    assert 'href="/events/?page=2"' in page
    assert 'href="/events/?page=3"' in page


def test_filters_survive_paging(client, db_session):
    for day in range(25):
        make_event(
            title=f"Tech {day:02d}", category="tech", starts_at=now() + timedelta(days=day + 1)
        )
    make_event(title="Food thing", category="food")
    db_session.commit()

    response = client.get("/events/?category=tech&sort=price&utm_source=spam")
    assert response.status_code == 302  # to the one URL of this page, which caches can keep
    assert response.headers["Location"] == "/events/?category=tech&sort=price"
    page = client.get(response.headers["Location"]).get_data(as_text=True)

    assert 'href="/events/?category=tech&amp;sort=price&amp;page=2"' in page
    assert "utm_source" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=-3", "That page number doesn't exist"),
        ("page=abc", "That page number doesn't exist"),
        ("page=²", "That page number doesn't exist"),
        ("from=banana", "is not a date"),
        ("to=2026-02-31", "is not a date"),
        ("city=atlantis", "We don't list events in “atlantis”"),
        ("category=knitting", "There is no category “knitting”"),
        ("sort=random", "Unknown sort order"),
        ("when=someday", "Unknown date shortcut"),
        ("q=" + "x" * 5000, "Your search was shortened"),
    ],
)
def test_search_bad_input_renders_page_with_a_message(client, db_session, query, message):
    make_event(title="Still Listed")
    db_session.commit()

    response = client.get(f"/events/?{query}")

    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert message in page
    if not query.startswith("q="):
        assert "Still Listed" in page


def test_search_page_beyond_the_last_shows_the_last_page(client, db_session):
    make_event(title="Only One")
    db_session.commit()
    response = client.get("/events/?page=99")
    assert titles_in(response) == ["Only One"]


def test_search_swaps_reversed_dates(client, db_session):
    make_event(title="In Range", starts_at=now() + timedelta(days=5))
    db_session.commit()
    start = (now() + timedelta(days=1)).date()
    end = (now() + timedelta(days=10)).date()
    page = client.get(f"/events/?from={end}&to={start}").get_data(as_text=True)
    assert "we swapped them" in page
    assert "In Range" in page


def test_search_with_no_results_says_so(client, db_session):
    response = client.get("/events/?q=zzzzunmatched")
    assert response.status_code == 200
    assert "No upcoming events match your search." in response.get_data(as_text=True)


def test_search_escapes_the_query_in_the_page(client, db_session):
    response = client.get("/events/?q=<script>alert(1)</script>", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_city_landing_page_reuses_the_search(client, db_session):
    oslo = make_city(name="Oslo", slug="oslo", country="Norway", timezone="Europe/Oslo")
    make_event(title="Fjord Swim", city=oslo, category="sports")
    make_event(title="Fjord Talk", city=oslo, category="tech")
    make_event(title="Not Oslo")
    db_session.commit()

    response = client.get("/cities/oslo/?category=tech")

    assert response.status_code == 200
    assert titles_in(response) == ["Fjord Talk"]
    assert "<title>Events in Oslo · EventMate</title>" in response.get_data(as_text=True)


def test_category_landing_page_ignores_a_conflicting_category_param(client, db_session):
    make_event(title="Jam", category="music")
    make_event(title="Hack", category="tech")
    db_session.commit()
    response = client.get("/categories/music/?category=tech")
    assert response.status_code == 302
    assert response.headers["Location"] == "/categories/music/"
    assert titles_in(client.get("/categories/music/")) == ["Jam"]


def test_unknown_city_or_category_landing_is_404(client, db_session):
    assert client.get("/cities/atlantis/").status_code == 404
    assert client.get("/categories/knitting/").status_code == 404


def test_every_card_links_to_its_own_event_page(app, client, db_session):
    events = [make_event(starts_at=now() + timedelta(days=n + 1)) for n in range(3)]
    db_session.commit()

    page = client.get("/events/").get_data(as_text=True)

    links = re.findall(r'class="card-link" href="([^"]+)"', page)
    with app.test_request_context():
        assert links == [url_for("events.detail", slug=event.slug) for event in events]
