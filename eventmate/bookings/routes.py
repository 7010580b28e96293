"""The first step of booking: choose how many seats, checked against what is left.

Checkout itself (accounts, the locked seat update, confirmation) arrives with accounts; this
step already gives the answers checkout will: 409 when the event cannot be booked at all, 400
for a quantity that is not allowed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, render_template, request

from eventmate.bookings import bp
from eventmate.events import queries
from eventmate.models import Event


class BookingRefused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@bp.get("/events/<slug:slug>/book/")
def choose_seats(slug: str):
    event = queries.active_event_by_slug(slug)
    if event is None:
        abort(404)
    try:
        quantity = check_quantity(event, request.args.get("quantity", "1"), datetime.now(UTC))
    except BookingRefused as refused:
        page = render_template("bookings/choose.html", event=event, problem=refused.message)
        return page, refused.status
    return render_template("bookings/choose.html", event=event, quantity=quantity)


def check_quantity(event: Event, raw_quantity: str, now: datetime) -> int:
    """The number of seats asked for, if it can be booked; otherwise BookingRefused says why."""
    if event.starts_at <= now:
        raise BookingRefused("This event has already started, so it can no longer be booked.", 409)
    if event.is_sold_out:
        raise BookingRefused("Sorry, this event is sold out.", 409)
    raw_quantity = (raw_quantity or "").strip()
    if not (raw_quantity.isascii() and raw_quantity.isdigit()) or int(raw_quantity) < 1:
        raise BookingRefused("Choose a whole number of seats, at least one.", 400)
    limit = min(event.max_per_booking, event.seats_left)
    if int(raw_quantity) > limit:
        seats = "seat" if limit == 1 else "seats"
        raise BookingRefused(f"You can book at most {limit} {seats} for this event.", 400)
    return int(raw_quantity)
