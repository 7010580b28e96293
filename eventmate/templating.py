"""Template filters and globals: local times, prices, canonical URLs, structured data.

Dates, times, prices and numbers are formatted by Babel (through Flask-Babel) for the app's
locale (BABEL_DEFAULT_LOCALE), in the event's own time zone. Flask-Babel keeps the locale on
`g`, so this works in an app context without a request too (email tasks, commands). A price's
and a time's text never change for a locale, and Babel takes ~50 µs to make each (an event
page offers up to ten seat totals): the texts are memoized per locale.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from babel import dates, numbers
from flask import Flask, g, request, url_for
from flask_babel import get_locale, gettext

from eventmate.models import CATEGORIES, Event
from eventmate.models.places import zone_named
from eventmate.pagination import page_window

# Babel patterns (the locale supplies the day and month names). The site reads day-month-year
# with a 24-hour clock, e.g. "Sat 5 Dec 2026, 19:30", whatever the locale's own order.
DATE_STYLES = {
    "datetime": "EEE d MMM y, HH:mm",
    "time": "HH:mm",
    "date": "d MMM y",
    "day": "d MMMM y",
    "month": "MMMM y",
}
# Styles with a time of day are followed by the zone's abbreviation (CET, JST): the reader
# may be elsewhere. Babel's own zone names for "en" are mostly offsets (+0100); the IANA
# database's abbreviations read better.
ZONED_STYLES = {"datetime", "time"}


def local_datetime(value: datetime, timezone: str, style: str = "datetime") -> str:
    """A UTC datetime in the `timezone` zone (an event's), in one of DATE_STYLES."""
    return _local_datetime(value, timezone, style, get_locale())


@lru_cache(maxsize=8192)
def _local_datetime(value: datetime, timezone: str, style: str, locale) -> str:
    local = value.astimezone(zone_named(timezone))
    text = dates.format_datetime(local, DATE_STYLES[style], locale=locale)
    return f"{text} {local.tzname()}" if style in ZONED_STYLES else text


def local_time(value: datetime, timezone: str) -> str:
    return local_datetime(value, timezone, "time")


def iso_local(value: datetime, timezone: str) -> str:
    """ISO 8601 with the local UTC offset, as schema.org expects."""
    return value.astimezone(zone_named(timezone)).isoformat(timespec="minutes")


def same_local_day(start: datetime, end: datetime, timezone: str) -> bool:
    zone = zone_named(timezone)
    return start.astimezone(zone).date() == end.astimezone(zone).date()


def format_price(price: Decimal, currency: str) -> str:
    """The amount in the currency's own minor units (¥1,000, €10.00); zero is "Free"."""
    if price == 0:
        return gettext("Free")
    return _price(price, currency, get_locale())


@lru_cache(maxsize=8192)
def _price(price: Decimal, currency: str, locale) -> str:
    return numbers.format_currency(price, currency, locale=locale)


SLUG_PLACEHOLDER = "--slug--"  # a slug never has two dashes in a row


def event_path(slug: str) -> str:
    """url_for("events.detail", slug=slug), built once per request and filled in per card:
    url_for cost ~1 ms of a results page's 20 cards."""
    pattern = g.get("event_path_pattern")
    if pattern is None:
        pattern = g.event_path_pattern = url_for("events.detail", slug=SLUG_PLACEHOLDER)
    return pattern.replace(SLUG_PLACEHOLDER, slug)


def event_json_ld(event: Event, rating, cover_url: str | None) -> dict:
    """schema.org Event markup for the event page."""
    zone = event.city.timezone
    event_url = url_for("events.detail", slug=event.slug, _external=True)
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "description": event.description[:500],
        "startDate": iso_local(event.starts_at, zone),
        "endDate": iso_local(event.ends_at, zone),
        "eventStatus": "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "url": event_url,
        "location": {
            "@type": "Place",
            "name": event.venue_name,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": event.venue_address,
                "addressLocality": event.city.name,
                "addressCountry": event.city.country,
            },
        },
        "organizer": {"@type": "Person", "name": event.host.display_name},
        "offers": {
            "@type": "Offer",
            "url": event_url,
            "price": f"{event.price:.2f}",
            "priceCurrency": event.currency,
            "availability": "https://schema.org/SoldOut"
            if event.is_sold_out
            else "https://schema.org/InStock",
            "validFrom": iso_local(event.created_at, zone),
        },
    }
    if cover_url:
        data["image"] = [url_for_media(cover_url)]
    if rating.count:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": round(rating.average, 1),
            "reviewCount": rating.count,
        }
    return data


def url_for_media(url: str) -> str:
    """Absolute URL for an image stored as a site-relative path or a full URL."""
    if url.startswith(("http://", "https://")):
        return url
    return request.host_url.rstrip("/") + url


def field_error_ids(field) -> list[str]:
    """The ids of a field's error messages as _forms.html renders them."""
    return [f"{field.id}-error-{n}" for n in range(1, len(field.errors) + 1)]


def field_attributes(field, **extra) -> dict:
    """Accessibility attributes for a form field, leaving out the ones that don't apply: its
    help text and its errors describe it (read out with it), and an error marks it invalid."""
    described_by = ([f"{field.id}-help"] if field.description else []) + field_error_ids(field)
    attributes = {
        "aria-describedby": " ".join(described_by) or None,
        "aria-invalid": "true" if field.errors else None,
        **extra,
    }
    return {name: value for name, value in attributes.items() if value is not None}


def init_app(app: Flask) -> None:
    app.add_template_filter(local_datetime)
    app.add_template_filter(local_time)
    app.add_template_filter(iso_local)
    app.add_template_filter(format_price)
    app.add_template_global(same_local_day)
    app.add_template_global(event_path)
    app.add_template_global(page_window)
    app.add_template_global(event_json_ld)
    app.add_template_global(url_for_media)
    app.add_template_global(field_attributes)
    app.add_template_global(field_error_ids)
    app.jinja_env.globals["nav_categories"] = CATEGORIES
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
