"""The city list: read on every search page, changed rarely, so cached at two levels."""

from __future__ import annotations

import uuid

from markupsafe import Markup, escape
from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from eventmate.extensions import cache, db
from eventmate.models import City


def build_all_cities() -> Select:
    return select(City).order_by(City.name)


# This process's unpickled copy of the cached city list, as (version, cities). Unpickling 200
# ORM objects from the cache cost ~5 ms per search page; a version stamp is cheap to read.
_local_cities: tuple[str | None, list[City]] = (None, [])


def all_cities() -> list[City]:
    """Every city, alphabetically (1 query when not cached). Cities change rarely.

    The cache holds the list with a version stamp; each process reuses its own copy for as
    long as the cached stamp is unchanged, and clearing the cache forces a reload. The City
    objects are detached and shared between requests: read them, link events by `city.id`.
    """
    global _local_cities
    version = cache.get("cities:version")
    local_version, local_cities = _local_cities
    if version is not None and version == local_version:
        return local_cities
    cached = cache.get("cities:all") if version is not None else None
    if cached is not None and cached[0] == version:
        cities = cached[1]
    else:
        version = uuid.uuid4().hex
        cities = list(db.session.scalars(build_all_cities()))
        for city in cities:
            db.session.expunge(city)
        cache.set("cities:all", (version, cities), timeout=300)
        cache.set("cities:version", version, timeout=300)
    _local_cities = (version, cities)
    return cities


@event.listens_for(Session, "after_attach")
def _forget_shared_city_put_in_a_session(_session, instance) -> None:
    """A shared City put in a session (a host form assigning it) may be expired by that
    session's commit: this process reloads the list rather than read a stale object."""
    global _local_cities
    if isinstance(instance, City) and any(instance is city for city in _local_cities[1]):
        _local_cities = (None, [])


# Built once per city list (search pages read both on every request), keyed by the list itself.
_by_slug: tuple[list[City] | None, dict[str, City]] = (None, {})
_options: tuple[list[City] | None, str] = (None, "")


def cities_by_slug() -> dict[str, City]:
    global _by_slug
    cities = all_cities()
    if _by_slug[0] is not cities:
        _by_slug = (cities, {city.slug: city for city in cities})
    return _by_slug[1]


def city_options(selected_slug: str | None) -> Markup:
    """The <option>s of the search form's city menu. 200 cities through a Jinja loop were a
    tenth of a search page's time (py-spy); this is the same HTML, built once per city list."""
    global _options
    cities = all_cities()
    if _options[0] is not cities:
        html = "".join(
            f'<option value="{escape(city.slug)}">{escape(city.name)}</option>' for city in cities
        )
        _options = (cities, html)
    html = _options[1]
    if selected_slug:
        chosen = f'<option value="{escape(selected_slug)}"'
        html = html.replace(f"{chosen}>", f"{chosen} selected>", 1)
    return Markup(html)
