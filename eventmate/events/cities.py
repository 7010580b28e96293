"""The city list: read on every search page, changed rarely, so cached at two levels.

Cached as plain immutable values (`CityInfo`), never ORM objects: they are shared between
requests and processes, and nothing can attach them to a session or expire them.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy import Select, select

from eventmate.caching import CITIES, cached
from eventmate.extensions import db
from eventmate.models import City
from eventmate.models.places import zone_named


@dataclass(frozen=True)
class CityInfo:
    """A city as the pages and forms read it."""

    id: int
    slug: str
    name: str
    country: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.timezone)


CITIES_CACHE_SECONDS = 3600
CITY_COLUMNS = (City.id, City.slug, City.name, City.country, City.timezone)


def build_all_cities() -> Select:
    return select(*CITY_COLUMNS).order_by(City.name)


def all_cities() -> tuple[CityInfo, ...]:
    """Every city, alphabetically (1 query when not cached). Cities change rarely (seeding
    bumps CITIES); each process keeps its copy while the token is unchanged: unpickling 200
    cities on every search page cost ~5 ms."""

    def load() -> tuple[CityInfo, ...]:
        return tuple(CityInfo(*row) for row in db.session.execute(build_all_cities()))

    return cached("cities", "cities:all", [CITIES], load, CITIES_CACHE_SECONDS, local=True)


# Built once per city list (search pages read both on every request), keyed by the list itself.
_by_slug: tuple[tuple[CityInfo, ...] | None, dict[str, CityInfo]] = (None, {})
_options: tuple[tuple[CityInfo, ...] | None, dict[str | None, Markup]] = (None, {})


def cities_by_slug() -> dict[str, CityInfo]:
    global _by_slug
    cities = all_cities()
    if _by_slug[0] is not cities:
        _by_slug = (cities, {city.slug: city for city in cities})
    return _by_slug[1]


def city_options(selected_slug: str | None) -> Markup:
    """The <option>s of the search form's city menu, the selected city marked. 200 cities
    through a Jinja loop were a tenth of a search page's time (py-spy): each menu is built
    once per city list and selected city."""
    global _options
    cities = all_cities()
    if _options[0] is not cities:
        _options = (cities, {})
    menus = _options[1]
    menu = menus.get(selected_slug)
    if menu is None:
        menu = menus[selected_slug] = Markup(
            "".join(
                f'<option value="{escape(city.slug)}"'
                + (" selected" if city.slug == selected_slug else "")
                + f">{escape(city.name)}</option>"
                for city in cities
            )
        )
    return menu
