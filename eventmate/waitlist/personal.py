"""What the event page's booking part (templates/_personal/booking.html) shows of the
waitlist: the member's place in line, or the seats held for them."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import current_user

from eventmate.waitlist import queries
from eventmate.waitlist.forms import JoinWaitlistForm


def waitlist_context(facts) -> dict:
    """`facts`: the page's EventFacts. One query, and only when someone can be in the line:
    every waiting member wants more seats than are left (they'd have had an offer otherwise,
    and could book), so with at least max_per_booking seats left and none held, nobody is."""
    if not current_user.is_authenticated:
        return {"waitlist": None, "waitlist_form": None}
    standing = None
    maybe_in_line = facts.seats_held > 0 or facts.seats_left < facts.max_per_booking
    if maybe_in_line and facts.starts_at > datetime.now(UTC):
        standing = queries.standing(current_user.id, facts.id)
    return {"waitlist": standing, "waitlist_form": JoinWaitlistForm(formdata=None)}
