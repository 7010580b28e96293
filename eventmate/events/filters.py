"""Turn the search page's query string into validated filters.

Every bad value is replaced by a sensible default and explained in a notice; parsing never
raises, so no query string can produce a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from eventmate.events.cities import CityInfo
from eventmate.models import CATEGORY_BY_SLUG
from eventmate.pagination import parse_page

SORTS = {
    "relevance": "Best match",
    "date": "Date",
    "newest": "Newly listed",
    "price": "Price: low to high",
}
WHEN_CHOICES = {
    "today": "Today",
    "tomorrow": "Tomorrow",
    "this-weekend": "This weekend",
    "next-7-days": "Next 7 days",
    "this-month": "This month",
}
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class SearchFilters:
    q: str = ""
    category: str | None = None
    city: CityInfo | None = None
    when: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "date"
    page: int = 1
    notices: list[str] = field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return self.city.zone if self.city else ZoneInfo("UTC")

    def window(self, now: datetime) -> tuple[datetime, datetime | None]:
        """The UTC start-time window: never before now (only upcoming events are listed)."""
        start = now
        end = None
        if self.date_from:
            start = max(now, datetime.combine(self.date_from, time.min, self.zone).astimezone(UTC))
        if self.date_to:
            next_day = self.date_to + timedelta(days=1)
            end = datetime.combine(next_day, time.min, self.zone).astimezone(UTC)
        return start, end

    def params(self, **overrides) -> dict[str, str]:
        """The normalised query string for links (paging, sorting, canonical)."""
        values = {
            "q": self.q,
            "category": self.category or "",
            "city": self.city.slug if self.city else "",
            "when": self.when or "",
            "from": "" if self.when or not self.date_from else self.date_from.isoformat(),
            "to": "" if self.when or not self.date_to else self.date_to.isoformat(),
            "sort": "" if self.sort == default_sort(self.q) else self.sort,
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update({key: str(value) for key, value in overrides.items()})
        if values["page"] == "1":
            values["page"] = ""
        return {key: value for key, value in values.items() if value}

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.category or self.city or self.date_from or self.date_to)


def default_sort(q: str) -> str:
    return "relevance" if q else "date"


def parse_search_args(
    args: MultiDict,
    cities_by_slug: dict[str, CityInfo],
    today: date,
    max_query_length: int = 200,
) -> SearchFilters:
    filters = SearchFilters()
    notices = filters.notices
    # Control characters (NUL above all) have no place in a search and upset PostgreSQL.
    args = MultiDict({key: CONTROL_CHARACTERS.sub("", value) for key, value in args.items()})

    q = " ".join(args.get("q", "").split())
    if len(q) > max_query_length:
        q = q[:max_query_length].rstrip()
        notices.append(f"Your search was shortened to its first {max_query_length} characters.")
    filters.q = q

    category = args.get("category", "").strip().lower()
    if category and category not in CATEGORY_BY_SLUG:
        notices.append(f"There is no category “{category[:40]}”; showing all categories.")
    elif category:
        filters.category = category

    city_slug = args.get("city", "").strip().lower()
    if city_slug and city_slug not in cities_by_slug:
        notices.append(f"We don't list events in “{city_slug[:40]}” yet; showing all cities.")
    elif city_slug:
        filters.city = cities_by_slug[city_slug]

    _parse_dates(args, filters, today)

    sort = args.get("sort", "").strip().lower() or default_sort(filters.q)
    if sort not in SORTS or (sort == "relevance" and not filters.q):
        if sort != "relevance":
            notices.append("Unknown sort order; sorted by date instead.")
        sort = default_sort(filters.q)
    filters.sort = sort

    filters.page = _parse_page(args.get("page", ""), notices)
    return filters


def _parse_dates(args: MultiDict, filters: SearchFilters, today: date) -> None:
    when = args.get("when", "").strip().lower()
    if when:
        if when in WHEN_CHOICES:
            filters.when = when
            filters.date_from, filters.date_to = when_to_dates(when, today)
            return
        filters.notices.append("Unknown date shortcut; showing all upcoming dates.")

    for name, label in (("from", "“From”"), ("to", "“To”")):
        raw = args.get(name, "").strip()
        if not raw:
            continue
        try:
            value = date.fromisoformat(raw[:10]) if len(raw) == 10 else None
        except ValueError:
            value = None
        if value is None:
            filters.notices.append(
                f"{label} date “{raw[:20]}” is not a date (use YYYY-MM-DD); ignored."
            )
        elif name == "from":
            filters.date_from = value
        else:
            filters.date_to = value

    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        filters.date_from, filters.date_to = filters.date_to, filters.date_from
        filters.notices.append("“From” was after “To”, so we swapped them.")


def when_to_dates(when: str, today: date) -> tuple[date, date]:
    if when == "today":
        return today, today
    if when == "tomorrow":
        tomorrow = today + timedelta(days=1)
        return tomorrow, tomorrow
    if when == "this-weekend":
        # Saturday and Sunday of this week; on a Sunday, just today.
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            saturday = today - timedelta(days=1)
        return max(saturday, today), saturday + timedelta(days=1)
    if when == "next-7-days":
        return today, today + timedelta(days=6)
    # this-month
    first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return today, first_of_next - timedelta(days=1)


def _parse_page(raw: str, notices: list[str]) -> int:
    raw = raw.strip()
    if not raw:
        return 1
    page = parse_page(raw)
    if page is None:
        notices.append("That page number doesn't exist; showing the first page.")
        return 1
    return page
