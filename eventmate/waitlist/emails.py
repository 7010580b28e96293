"""What members on a waitlist are told (eventmate/notifications)."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from eventmate.extensions import db
from eventmate.models import Event, OutboxMessage, WaitlistEntry
from eventmate.models.waitlist import OFFERED
from eventmate.notifications.messages import Draft, composer
from eventmate.templating import local_time
from eventmate.waitlist.offers import OFFER


def entry_id(message: OutboxMessage) -> int:
    """The entry its send key names (waitlist.offers.offer_key)."""
    return int(message.send_key.rpartition(":")[2])


@composer(OFFER)
def waitlist_offer(message: OutboxMessage) -> Draft | None:
    """Only while the seats are still held: not once claimed, declined or run out."""
    entry = db.session.scalar(
        select(WaitlistEntry)
        .options(joinedload(WaitlistEntry.user),
                 joinedload(WaitlistEntry.event).joinedload(Event.city))
        .where(WaitlistEntry.id == entry_id(message))
    )  # fmt: skip
    if entry is None or entry.status != OFFERED:
        return None
    event = entry.event
    return Draft(
        f"Seats for you: {event.title}, held until "
        f"{local_time(entry.hold_expires_at, event.city.timezone)}",
        OFFER,
        {
            "name": entry.user.display_name,
            "entry": entry,
            "event": event,
            "claim_url": url_for("waitlist.claim", slug=event.slug, _external=True),
            "event_url": url_for("events.detail", slug=event.slug, _external=True),
        },
    )
