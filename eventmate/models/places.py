from __future__ import annotations

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
        return ZoneInfo(self.timezone)

    def __repr__(self) -> str:
        return f"<City {self.slug}>"
