from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from eventmate.extensions import db


class City(db.Model):
    __tablename__ = "cities"
    __table_args__ = (Index("ix_cities_slug", "slug", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.timezone)

    def __repr__(self) -> str:
        return f"<City {self.slug}>"


@cache
def zone_named(key: str) -> ZoneInfo:
    """The zone, kept for good. ZoneInfo itself keeps only the last 8 zones for sure: a results
    page with events in more zones than that read zone files from disk on every page."""
    return ZoneInfo(key)
