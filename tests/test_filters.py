"""Unit tests of the search's query-string parsing (no database)."""

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from eventmate.events.filters import parse_search_args, when_to_dates
from eventmate.models import City

OSLO = City(name="Oslo", slug="oslo", country="Norway", timezone="Europe/Oslo")


def parse(**args):
    return parse_search_args(MultiDict(args), {"oslo": OSLO}, date(2026, 11, 25))


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 25), (date(2026, 11, 28), date(2026, 11, 29))),  # Wednesday
        (date(2026, 11, 28), (date(2026, 11, 28), date(2026, 11, 29))),  # Saturday
        (date(2026, 11, 29), (date(2026, 11, 29), date(2026, 11, 29))),  # Sunday: just today
    ],
)
def test_this_weekend(today, expected):
    assert when_to_dates("this-weekend", today) == expected


def test_this_month_ends_on_the_last_day():
    assert when_to_dates("this-month", date(2026, 12, 5)) == (date(2026, 12, 5), date(2026, 12, 31))
    assert when_to_dates("this-month", date(2027, 2, 1)) == (date(2027, 2, 1), date(2027, 2, 28))


def test_valid_filters_parse_without_notices():
    filters = parse(q="  jazz   night ", category="music", city="oslo", sort="price", page="3")
    assert filters.q == "jazz night"
    assert filters.category == "music"
    assert filters.city is OSLO
    assert filters.sort == "price"
    assert filters.page == 3
    assert filters.notices == []


def test_text_query_defaults_to_relevance_and_plain_search_to_date():
    assert parse(q="jazz").sort == "relevance"
    assert parse().sort == "date"
    assert parse(sort="relevance").sort == "date"


def test_when_overrides_from_and_to():
    filters = parse(when="tomorrow", **{"from": "2027-01-01"})
    assert (filters.date_from, filters.date_to) == (date(2026, 11, 26), date(2026, 11, 26))


def test_params_are_normalised_for_links():
    filters = parse(q="jazz", city="OSLO", page="1", sort="relevance", utm="x")
    assert filters.params() == {"q": "jazz", "city": "oslo"}
    assert filters.params(page=2) == {"q": "jazz", "city": "oslo", "page": "2"}
    assert filters.params(page=1) == {"q": "jazz", "city": "oslo"}


@pytest.mark.parametrize("page", ["0", "-3", "1.5", "１２", "99999999999999999999"])
def test_bad_page_numbers_fall_back_to_one(page):
    filters = parse(page=page)
    assert filters.page == 1
    assert filters.notices
