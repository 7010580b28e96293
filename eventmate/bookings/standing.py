"""Where a member's booking stands, as their pages say it: their own cancellation, the host
calling the event off, or the event taken off the site while the booking still stands."""

from __future__ import annotations

from dataclasses import dataclass

from eventmate.models import BOOKING_CONFIRMED, Booking

CONFIRMED = "confirmed"
CANCELLED = "cancelled"  # by the member
HOST_CANCELLED = "host-cancelled"  # with the event (eventmate/hosts/services.py cancel_event)
SUSPENDED = "suspended"  # confirmed, but the event is off the site (suspended or unlisted)

LABELS = {
    CONFIRMED: "Confirmed",
    CANCELLED: "Cancelled",
    HOST_CANCELLED: "Cancelled by the host",
    SUSPENDED: "Suspended",
}


@dataclass(frozen=True)
class Standing:
    state: str

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def is_going(self) -> bool:
        return self.state == CONFIRMED


def standing(booking: Booking) -> Standing:
    event = booking.event
    if booking.status == BOOKING_CONFIRMED:
        return Standing(CONFIRMED if event.is_listed else SUSPENDED)
    cancelled_with_event = (
        event.cancelled_at is not None
        and booking.cancelled_at is not None
        and booking.cancelled_at >= event.cancelled_at
    )
    return Standing(HOST_CANCELLED if cancelled_with_event else CANCELLED)
