"""The event form's currency defaults to the one the city's country uses (Babel's CLDR data:
eventmate/hosts/currencies.py); a currency the host picks wins."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.hosts.currencies import country_currency
from eventmate.models import Event
from tests.conftest import page_text
from tests.factories import make_city, make_event
from tests.test_hosts import create, edit, event_data


@pytest.fixture
def cities(db_session):
    """Made before the host's form reads (and caches) the city list."""
    places = {
        "kyoto": ("Japan", "Asia/Tokyo"),
        "hamburg": ("Germany", "Europe/Berlin"),
        "bangkok": ("Thailand", "Asia/Bangkok"),
        "nowhere": ("Testland", "UTC"),
    }
    made = {
        slug: make_city(name=slug.title(), slug=slug, country=country, timezone=zone)
        for slug, (country, zone) in places.items()
    }
    db_session.commit()
    return made


def created(title: str) -> Event:
    return db.session.scalar(select(Event).where(Event.title == title))


@pytest.mark.parametrize(("city", "currency"), [("kyoto", "JPY"), ("hamburg", "EUR"),
                                                 ("bangkok", "THB")])  # fmt: skip
def test_left_to_the_city_the_currency_is_the_citys_countrys(client, host, cities, city, currency):
    data = event_data(cities[city], title=f"Night Market in {city}", currency="")
    assert create(client, data).status_code == 303
    assert created(data["title"]).currency == currency


def test_a_currency_the_host_picks_wins(client, host, cities):
    data = event_data(cities["kyoto"], title="Tea Ceremony for Visitors", currency="USD")
    assert create(client, data).status_code == 303
    assert created(data["title"]).currency == "USD"


def test_a_country_babel_does_not_know_needs_a_chosen_currency(client, host, cities):
    data = event_data(cities["nowhere"], title="Somewhere Odd", currency="")
    response = create(client, data)
    assert response.status_code == 400
    assert "We don't know which currency Testland uses: choose one." in page_text(response)
    assert created(data["title"]) is None
    assert create(client, {**data, "currency": "GBP"}).status_code == 303
    assert created(data["title"]).currency == "GBP"


def test_the_new_event_form_names_each_citys_currency(client, host, cities):
    page = client.get("/host/events/new/").get_data(as_text=True)
    menu = re.search(r'<select[^>]*data-city-currencies="([^"]+)"[^>]*name="currency"', page)
    assert menu is not None
    by_city = json.loads(html.unescape(menu.group(1)))
    assert by_city[str(cities["kyoto"].id)] == "JPY"
    assert by_city[str(cities["hamburg"].id)] == "EUR"
    assert str(cities["nowhere"].id) not in by_city  # unknown: the host chooses
    # The city's currency is chosen unless the host picks another; every city's is offered.
    assert '<option selected value="">The city\'s currency</option>' in page_text(
        client.get("/host/events/new/")
    )
    assert '<option value="THB">THB</option>' in page
    assert re.search(r'<script src="/static/js/city-currency[^"]*\.js" defer>', page)


def test_an_event_in_a_rarer_currency_can_still_be_edited(client, host, cities):
    event = make_event(host=host, city=cities["bangkok"], currency="THB", title="Old Title")
    db.session.commit()
    form = client.get(f"/host/events/{event.slug}/edit/").get_data(as_text=True)
    assert '<option selected value="THB">THB</option>' in form
    data = event_data(cities["bangkok"], title="Longtail Boat Supper", currency="THB")
    assert edit(client, event, data).status_code == 303
    db.session.expire_all()
    saved = db.session.get(Event, event.id)
    assert (saved.title, saved.currency) == ("Longtail Boat Supper", "THB")


def test_country_names_map_to_the_currency_in_use():
    assert country_currency("Japan") == "JPY"
    assert country_currency("germany") == "EUR"  # case does not matter
    assert country_currency("United Kingdom") == "GBP"
    assert country_currency("Testland") is None
