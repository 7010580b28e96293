"""Dates and times at awkward moments: Sunday late evening, New Year's Eve, and the clock
changes in Europe and North America (the skipped spring hour, the repeated autumn hour).

"Now" is pinned with the `clock` fixture (time-machine). The app computes "now" in Python and
passes it to its queries, so PostgreSQL's own clock, which time-machine can't move, plays no
part. Expected days are worked out here from the calendar, not with the app's own helpers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.factories import make_city, make_event
from tests.test_search import titles_in

MOMENTS = {
    "sunday-late-evening": datetime(2026, 12, 6, 23, 30, tzinfo=UTC),
    "new-years-eve": datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    # 00:30 GMT; at 01:00 GMT London's clocks jump to 02:00 BST.
    "london-spring-forward": datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
    # 01:30 BST, the first pass; at 02:00 BST the clocks go back to 01:00 GMT.
    "london-fall-back": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    # 01:30 EST; at 02:00 EST New York's clocks jump to 03:00 EDT.
    "new-york-spring-forward": datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
    # 01:30 EDT, the first pass; at 02:00 EDT the clocks go back to 01:00 EST.
    "new-york-fall-back": datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
}
# (city slug in the search, zone); no slug: a search over all cities, whose day is UTC's.
PLACES = {
    "london": ("london", "Europe/London"),
    "new-york": ("new-york", "America/New_York"),
    "tokyo": ("tokyo", "Asia/Tokyo"),
    "all-cities": ("", "UTC"),
}


def at(day: date, hour: int, minute: int, zone: str) -> datetime:
    """A local wall-clock time (one that exists, and is not repeated) as UTC."""
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone)).astimezone(UTC)


def place(slug: str, zone: str):
    return make_city(name=slug or "Greenwich", slug=slug or "greenwich", timezone=zone)


def search(client, slug: str, **params) -> list[str]:
    query = "&".join(f"{key}={value}" for key, value in {"city": slug, **params}.items() if value)
    response = client.get(f"/events/?{query}")
    assert response.status_code == 200
    return titles_in(response)


def weekend_days(today: date) -> list[date]:
    """What is left of this week's Saturday and Sunday, or the coming ones on a weekday."""
    days, day = [], today
    while not days or days[-1].weekday() != 6:
        if day.weekday() >= 5:
            days.append(day)
        day += timedelta(days=1)
    return days


@pytest.mark.parametrize("where", PLACES.values(), ids=PLACES)
@pytest.mark.parametrize("moment", MOMENTS.values(), ids=MOMENTS)
def test_today_and_tomorrow_are_the_local_calendar_days(client, db_session, clock, moment, where):
    slug, zone = where
    clock(moment)
    city = place(slug, zone)
    today = moment.astimezone(ZoneInfo(zone)).date()
    tomorrow = today + timedelta(days=1)
    make_event(title="Just started", city=city, starts_at=moment - timedelta(minutes=1))
    make_event(title="Tonight", city=city, starts_at=at(today, 23, 45, zone))
    make_event(title="Small hours", city=city, starts_at=at(tomorrow, 0, 15, zone))
    make_event(title="Tomorrow night", city=city, starts_at=at(tomorrow, 23, 45, zone))
    day_after = tomorrow + timedelta(days=1)
    make_event(title="Day after", city=city, starts_at=at(day_after, 0, 15, zone))
    db_session.commit()

    assert search(client, slug, when="today") == ["Tonight"]
    assert search(client, slug, when="tomorrow") == ["Small hours", "Tomorrow night"]


@pytest.mark.parametrize("where", PLACES.values(), ids=PLACES)
@pytest.mark.parametrize("moment", MOMENTS.values(), ids=MOMENTS)
def test_this_weekend_is_the_local_saturday_and_sunday(client, db_session, clock, moment, where):
    slug, zone = where
    clock(moment)
    city = place(slug, zone)
    days = weekend_days(moment.astimezone(ZoneInfo(zone)).date())
    sunday = days[-1]
    saturday = sunday - timedelta(days=1)
    starts = {
        "Friday night": at(saturday - timedelta(days=1), 23, 45, zone),
        "Saturday small hours": at(saturday, 0, 15, zone),
        "Sunday night": at(sunday, 23, 45, zone),
        "Monday small hours": at(sunday + timedelta(days=1), 0, 15, zone),
    }
    for title, starts_at in starts.items():
        make_event(title=title, city=city, starts_at=starts_at)
    db_session.commit()

    expected = [
        title
        for title in ("Saturday small hours", "Sunday night")
        if starts[title] >= moment  # only what has not started yet
    ]
    assert search(client, slug, when="this-weekend") == expected
    assert "Sunday night" in expected  # every moment above leaves some weekend to list


CLOCK_CHANGE_DAYS = {
    "london-spring": ("london", "Europe/London", date(2026, 3, 29)),  # 23 hours
    "london-autumn": ("london", "Europe/London", date(2026, 10, 25)),  # 25 hours
    "new-york-spring": ("new-york", "America/New_York", date(2026, 3, 8)),
    "new-york-autumn": ("new-york", "America/New_York", date(2026, 11, 1)),
}


@pytest.mark.parametrize(("slug", "zone", "day"), CLOCK_CHANGE_DAYS.values(), ids=CLOCK_CHANGE_DAYS)
def test_a_from_to_window_on_a_clock_change_day_is_that_whole_local_day(
    client, db_session, clock, slug, zone, day
):
    clock(datetime.combine(day - timedelta(days=3), time(12), UTC))
    city = place(slug, zone)
    make_event(title="Eve", city=city, starts_at=at(day - timedelta(days=1), 23, 45, zone))
    make_event(title="Small hours", city=city, starts_at=at(day, 0, 15, zone))
    make_event(title="After the change", city=city, starts_at=at(day, 3, 30, zone))
    make_event(title="Last orders", city=city, starts_at=at(day, 23, 45, zone))
    make_event(title="Next morning", city=city, starts_at=at(day + timedelta(days=1), 0, 15, zone))
    db_session.commit()

    titles = search(client, slug, **{"from": day.isoformat(), "to": day.isoformat()})

    assert titles == ["Small hours", "After the change", "Last orders"]


# Half an hour either side of each change, as the event's city shows them.
CLOCK_CHANGES = {
    "london-spring": (
        "london", "Europe/London", datetime(2026, 3, 29, 1, tzinfo=UTC),
        ("Sun 29 Mar 2026, 00:30 GMT", "2026-03-29T00:30+00:00"),
        ("Sun 29 Mar 2026, 02:30 BST", "2026-03-29T02:30+01:00"),
    ),
    "london-autumn": (
        "london", "Europe/London", datetime(2026, 10, 25, 1, tzinfo=UTC),
        ("Sun 25 Oct 2026, 01:30 BST", "2026-10-25T01:30+01:00"),
        ("Sun 25 Oct 2026, 01:30 GMT", "2026-10-25T01:30+00:00"),
    ),
    "new-york-spring": (
        "new-york", "America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC),
        ("Sun 8 Mar 2026, 01:30 EST", "2026-03-08T01:30-05:00"),
        ("Sun 8 Mar 2026, 03:30 EDT", "2026-03-08T03:30-04:00"),
    ),
    "new-york-autumn": (
        "new-york", "America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC),
        ("Sun 1 Nov 2026, 01:30 EDT", "2026-11-01T01:30-04:00"),
        ("Sun 1 Nov 2026, 01:30 EST", "2026-11-01T01:30-05:00"),
    ),
}  # fmt: skip


def events_around(change: datetime, slug: str, zone: str):
    """An hour-long event either side of the change, each spanning half of it."""
    city = place(slug, zone)
    half = timedelta(minutes=30)
    before = make_event(title="Before", city=city, starts_at=change - half, ends_at=change + half)
    after = make_event(
        title="After", city=city, starts_at=change + half, ends_at=change + 3 * half
    )
    return before, after


@pytest.mark.parametrize(
    ("slug", "zone", "change", "before", "after"), CLOCK_CHANGES.values(), ids=CLOCK_CHANGES
)
def test_times_around_a_clock_change_show_the_right_zone_abbreviation_and_offset(
    client, db_session, clock, slug, zone, change, before, after
):
    clock(change - timedelta(days=2))
    first, _ = events_around(change, slug, zone)
    db_session.commit()

    cards = client.get(f"/events/?city={slug}").get_data(as_text=True)
    for shown, iso in (before, after):
        assert f'<time datetime="{iso}">{shown}</time>' in cards

    page = client.get(f"/events/{first.slug}/").get_data(as_text=True)
    assert f'<time datetime="{before[1]}">{before[0]}</time>' in page
    end_time = after[0].rsplit(", ", 1)[1]  # the same local day: only the time is shown
    assert f'<time datetime="{after[1]}">{end_time}</time>' in page


@pytest.mark.parametrize(
    ("slug", "zone", "change", "before", "after"), CLOCK_CHANGES.values(), ids=CLOCK_CHANGES
)
def test_calendar_files_around_a_clock_change_give_the_exact_instants(
    client, db_session, clock, slug, zone, change, before, after
):
    pinned = clock(change - timedelta(days=2))
    events = events_around(change, slug, zone)
    db_session.commit()

    for event in events:
        response = client.get(f"/events/{event.slug}/calendar.ics")
        assert response.status_code == 200
        vevent = Calendar.from_ical(response.data).walk("VEVENT")[0]
        # As UTC: Python never calls times in a repeated hour equal across zones (PEP 495).
        assert vevent.decoded("dtstart").astimezone(UTC) == event.starts_at
        assert vevent.decoded("dtend").astimezone(UTC) == event.ends_at
        assert vevent.decoded("dtstamp") == pinned
        for name, moment in (("dtstart", event.starts_at), ("dtend", event.ends_at)):
            local = moment.astimezone(ZoneInfo(zone))
            # Local time with its zone, except the repeated hour's second pass: UTC.
            repeated = local.fold and local.replace(fold=0).utcoffset() != local.utcoffset()
            assert vevent[name].params.get("TZID") == (None if repeated else zone)
