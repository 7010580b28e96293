"""The city list: read on every search page, changed rarely, so cached at two levels."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, inspect, select

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
    if version is not None and version == local_version and _untouched(local_cities):
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


def _untouched(cities: list[City]) -> bool:
    """False if a shared City was put in a session since, where a commit may have expired it."""
    for city in cities:
        state = inspect(city)
        if not state.detached or state.expired_attributes:
            return False
    return True


def cities_by_slug() -> dict[str, City]:
    return {city.slug: city for city in all_cities()}
