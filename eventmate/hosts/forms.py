"""The event form. Times are typed in the city's local time and stored in UTC."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_wtf.file import FileField
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from eventmate.events.cities import CityInfo
from eventmate.forms import Form
from eventmate.hosts.currencies import COMMON_CURRENCIES, country_currency
from eventmate.models import CATEGORIES

CITY_CURRENCY = ""  # the currency menu's first choice: the chosen city's (hosts/currencies.py)
MAX_CAPACITY = 100_000


class EventForm(Form):
    title = StringField("Title", validators=[DataRequired(), Length(min=5, max=140)])
    description = TextAreaField(
        "Description", validators=[DataRequired(), Length(min=20, max=10_000)]
    )
    category = SelectField("Category", choices=[SelectChoice(c.slug, c.name) for c in CATEGORIES])
    city_id = SelectField("City", coerce=int, validate_choice=True)
    venue_name = StringField("Venue", validators=[DataRequired(), Length(max=140)])
    venue_address = StringField("Address", validators=[Length(max=255)])
    starts_at = DateTimeLocalField(
        "Starts (local time)",
        validators=[InputRequired(message="Enter a start date and time.")],
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    ends_at = DateTimeLocalField(
        "Ends (local time)",
        validators=[InputRequired(message="Enter an end date and time.")],
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    capacity = IntegerField(
        "Capacity", validators=[InputRequired(), NumberRange(min=1, max=MAX_CAPACITY)]
    )
    max_per_booking = IntegerField(
        "Most seats in one booking",
        default=10,
        validators=[InputRequired(), NumberRange(min=1, max=100)],
    )
    price = DecimalField(
        "Price (0 for free)",
        places=2,
        validators=[
            InputRequired(),
            NumberRange(
                min=Decimal("0"),
                max=Decimal("100000"),
                message="Enter a price from 0 (free) to 100,000.",
            ),
        ],
    )
    currency = SelectField("Currency", default=CITY_CURRENCY)

    def __init__(
        self, cities: Sequence[CityInfo], *args, is_new: bool = True, stored=None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cities = {city.id: city for city in cities}
        self.city_id.choices = [SelectChoice(city.id, city.name) for city in cities]
        self._offer_currencies(cities, stored)
        self.is_new = is_new
        # The event being edited, if any: its times as stored (UTC), to keep them exactly
        # when the form sends back the same wall-clock time.
        self.stored = stored

    def _offer_currencies(self, cities: Sequence[CityInfo], stored) -> None:
        """Every city's currency besides the common ones (and the event's own, kept); the
        first choice is the chosen city's, named per city by static/js/city-currency.js."""
        by_city = {city.id: country_currency(city.country) for city in cities}
        own = stored.currency if stored is not None else None
        codes = sorted({*COMMON_CURRENCIES, *by_city.values(), own} - {None})
        self.currency.choices = [
            SelectChoice(CITY_CURRENCY, "The city's currency"),
            *map(SelectChoice, codes),
        ]
        known = {str(city_id): code for city_id, code in by_city.items() if code}
        self.currency.render_kw = {"data-city-currencies": json.dumps(known, sort_keys=True)}

    def chosen_currency(self) -> str:
        """The currency picked, or, if the host left it to the city, the city's."""
        if self.currency.data != CITY_CURRENCY:
            return self.currency.data
        return country_currency(self.cities[self.city_id.data].country)

    def validate_currency(self, field) -> None:
        city = self.cities.get(self.city_id.data)
        if field.data == CITY_CURRENCY and city and country_currency(city.country) is None:
            raise ValidationError(f"We don't know which currency {city.country} uses: choose one.")

    @property
    def zone(self) -> ZoneInfo:
        city = self.cities.get(self.city_id.data)
        return city.zone if city else ZoneInfo("UTC")

    def utc(self, field) -> datetime:
        """A local wall-clock time from the form as an aware UTC datetime. An unchanged time of
        the event being edited is its stored instant: in a repeated hour (clocks going back)
        the wall-clock time alone can't say which of the two it is."""
        stored = self._stored_time(field)
        if stored is not None and local_value(stored, self.zone) == field.data:
            return stored
        return field.data.replace(tzinfo=self.zone).astimezone(UTC)

    def _stored_time(self, field) -> datetime | None:
        if self.stored is None or field.name not in ("starts_at", "ends_at"):
            return None
        return getattr(self.stored, field.name)

    def _check_unambiguous(self, field) -> None:
        """Refuse a new wall-clock time that happens twice (the hour repeated when the clocks
        go back): it would silently be the first of the two."""
        stored = self._stored_time(field)
        if stored is not None and local_value(stored, self.zone) == field.data:
            return
        first = field.data.replace(tzinfo=self.zone, fold=0)
        second = field.data.replace(tzinfo=self.zone, fold=1)
        if first.utcoffset() != second.utcoffset():
            raise ValidationError(
                f"{field.data:%H:%M} happens twice that night in {self.zone.key} (the clocks "
                "go back): choose a time outside that hour."
            )

    def validate_starts_at(self, field) -> None:
        if field.data is None:
            return
        _check_exists(field.data, self.zone)
        self._check_unambiguous(field)
        if self.is_new and self.utc(field) <= datetime.now(UTC):
            raise ValidationError("The start must be in the future.")

    def validate_ends_at(self, field) -> None:
        if field.data is None or self.starts_at.data is None:
            return
        _check_exists(field.data, self.zone)
        self._check_unambiguous(field)
        if self.utc(field) <= self.utc(self.starts_at):
            raise ValidationError("The end must be after the start.")

    def validate_max_per_booking(self, field) -> None:
        if field.data and self.capacity.data and field.data > self.capacity.data:
            raise ValidationError("Can't be more than the capacity.")


def _check_exists(local: datetime, zone: ZoneInfo) -> None:
    """Refuse a wall-clock time skipped by a daylight-saving change (e.g. 02:30 in spring)."""
    aware = local.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
        raise ValidationError(f"That time doesn't exist in {zone.key}: the clocks change then.")


def local_value(value: datetime, zone: ZoneInfo) -> datetime:
    """A stored UTC time as the naive local time the form shows."""
    return value.astimezone(zone).replace(tzinfo=None)


class CancelEventForm(Form):
    reason = StringField(
        "Why (optional; your attendees see it)", validators=[Length(max=200)],
        description="For example: “The venue flooded.”",
    )  # fmt: skip


class NewEventForm(EventForm):
    """A new listing, with an optional first image (more on the images page)."""

    image = FileField("A first image (optional: JPEG, PNG or WebP, up to 5 MB and 16 megapixels)")
    image_alt = StringField("Describe the image for people who can't see it",
                            validators=[Length(max=200)])  # fmt: skip

    def validate_image_alt(self, field) -> None:
        if self.image.data and not (field.data or "").strip():
            raise ValidationError("Add a short description of the image (alt text).")
