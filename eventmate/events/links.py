"""Links from an event's page to other services: a map of the venue, adding the event to Google
Calendar or Outlook, and sharing the page. Plain links: no third-party script runs on our pages,
and nothing reaches those services until the visitor follows a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from eventmate.models import Event

OPENSTREETMAP_SEARCH = "https://www.openstreetmap.org/search"
GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
OUTLOOK_CALENDAR = "https://outlook.live.com/calendar/0/deeplink/compose"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


def venue_line(event: Event) -> str:
    """The venue as one line a map search or a calendar understands."""
    parts = (event.venue_name, event.venue_address, event.city.name, event.city.country)
    return ", ".join(part for part in parts if part)


def map_url(event: Event) -> str:
    return f"{OPENSTREETMAP_SEARCH}?{urlencode({'query': venue_line(event)})}"


def _utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_links(event: Event, page_url: str) -> list[Link]:
    """Add the event to an online calendar: its times in UTC, the page as its description."""
    google = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": f"{_utc_stamp(event.starts_at)}/{_utc_stamp(event.ends_at)}",
        "details": page_url,
        "location": venue_line(event),
        "ctz": event.city.timezone,
    }
    outlook = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": event.title,
        "startdt": event.starts_at.astimezone(UTC).isoformat(timespec="seconds"),
        "enddt": event.ends_at.astimezone(UTC).isoformat(timespec="seconds"),
        "body": page_url,
        "location": venue_line(event),
    }
    return [
        Link("Google Calendar", f"{GOOGLE_CALENDAR}?{urlencode(google)}"),
        Link("Outlook", f"{OUTLOOK_CALENDAR}?{urlencode(outlook)}"),
    ]


def share_links(title: str, page_url: str) -> list[Link]:
    """Each service's own share URL; email through the visitor's mail program."""
    services = [
        ("WhatsApp", "https://wa.me/", {"text": f"{title} {page_url}"}),
        ("X", "https://twitter.com/intent/tweet", {"text": title, "url": page_url}),
        ("Facebook", "https://www.facebook.com/sharer/sharer.php", {"u": page_url}),
        ("LinkedIn", "https://www.linkedin.com/sharing/share-offsite/", {"url": page_url}),
    ]
    # mailto: wants %20 for spaces, not "+" (RFC 6068).
    email = urlencode({"subject": title, "body": page_url}, quote_via=quote)
    return [
        Link("Email", f"mailto:?{email}"),
        *(Link(label, f"{url}?{urlencode(query)}") for label, url, query in services),
    ]
