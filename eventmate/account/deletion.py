"""Deleting one's own account, in one transaction.

What is kept, and how it is anonymised: the member's row stays as a tombstone, so the past
bookings and reviews that point at it stay whole for the events' hosts and readers, but it
holds nothing personal any more: the address becomes `deleted-<id>@deleted.invalid` (unique,
and .invalid can never receive mail), the name "Former member", the password hash one that no
password matches; the account is inactive, so it can't sign in and every session ends. Upcoming
bookings are cancelled and their seats given back (to the waitlist first), places in waitlists
are given up, and every email queued to or about the member is dropped (the outbox rows hold
the address).

A host whose upcoming events still have bookings is refused: those attendees would be left
with a host nobody can reach. They cancel those events first (their attendees are told), or
ask an administrator to move them to another host. Their other events leave the site, as for
a deactivated account (`flask users deactivate`), rows kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import contains_eager

from eventmate.account.services import checked_password, locked_member
from eventmate.auth.services import AccountError
from eventmate.bookings.services import lock_event, release_seats
from eventmate.caching import invalidate_event
from eventmate.extensions import db
from eventmate.hosts.services import hosted_events_changed, list_hosted_events
from eventmate.models import BOOKING_CONFIRMED, Booking, Event, OutboxMessage, User, WaitlistEntry
from eventmate.models.waitlist import DECLINED, IN_LINE, LEFT, OFFERED, WAITING
from eventmate.notifications import outbox
from eventmate.waitlist.offers import end_offers, offer_free_seats

FORMER_MEMBER = "Former member"
UNUSABLE_PASSWORD = "!deleted"  # not a hash: no password matches it (auth/hashing.py)


def tombstone_address(user_id: int) -> str:
    return f"deleted-{user_id}@deleted.invalid"


class HostStillBooked(AccountError):
    """The member hosts upcoming events that have bookings; `titles` names them."""

    def __init__(self, titles: list[str]) -> None:
        self.titles = titles
        super().__init__(
            "You host upcoming events that people have booked: "
            + ", ".join(f"“{title}”" for title in titles)
            + ". Cancel them from your host dashboard (their attendees are told), or ask us to "
            "hand them over to another host, before deleting your account."
        )


def booked_hosted_events(user_id: int, now: datetime) -> list[str]:
    """Titles of the upcoming events the member hosts that have seats booked or held."""
    return list(
        db.session.scalars(
            select(Event.title)
            .where(
                Event.host_id == user_id,
                Event.cancelled_at.is_(None),
                Event.starts_at > now,
                (Event.seats_booked + Event.seats_held) > 0,
            )
            .order_by(Event.starts_at)
        )
    )


def upcoming_bookings(user_id: int, now: datetime) -> list[Booking]:
    """The member's confirmed bookings of events that haven't started (for the confirm page)."""
    return list(
        db.session.scalars(
            select(Booking)
            .join(Booking.event)
            .options(contains_eager(Booking.event))  # the page names each event
            .where(
                Booking.user_id == user_id,
                Booking.status == BOOKING_CONFIRMED,
                Event.starts_at > now,
            )
            .order_by(Event.starts_at)
        )
    )


def delete_account(user: User, password: str, now: datetime) -> int:
    """Delete the member's account as the module says, after checking the password
    (AccountError, or HostStillBooked: nothing changed). Returns how many bookings were
    cancelled. Commits once."""
    user_id = user.id
    user = locked_member(user_id, checked_password(user, password))
    old_address = user.email
    # Events first, in id order, each row locked before its bookings and waitlist entries are
    # touched (the lock order of eventmate/bookings/services.py); the host check after, on
    # locked rows, so nobody books one of the member's events in between.
    seats_freed, offers, cancelled = [], [], 0
    for event_id in _events_to_leave(user_id, now):
        event = lock_event(event_id)
        cancelled += _cancel_bookings(user_id, event, now)
        entries = db.session.scalars(
            select(WaitlistEntry).where(
                WaitlistEntry.user_id == user_id,
                WaitlistEntry.event_id == event_id,
                WaitlistEntry.status.in_(IN_LINE),
            )
        ).all()
        # As leaving the line does (waitlist.services.leave): an offer is declined.
        end_offers(event, [entry for entry in entries if entry.status == WAITING], LEFT)
        end_offers(event, [entry for entry in entries if entry.status == OFFERED], DECLINED)
        offers += offer_free_seats(event, now)
        seats_freed.append(event.slug)
    titles = booked_hosted_events(user_id, now)
    if titles:
        db.session.rollback()
        raise HostStillBooked(titles)
    hosted = list_hosted_events(user, False)
    _anonymise(user)
    db.session.execute(
        delete(OutboxMessage)
        .where(or_(OutboxMessage.user_id == user_id, OutboxMessage.to_address == old_address))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    invalidate_event(*seats_freed)
    hosted_events_changed(hosted)
    outbox.dispatch(offers)
    return cancelled


def _events_to_leave(user_id: int, now: datetime) -> list[int]:
    """Ids of the events the member has upcoming seats of, a place in the waitlist of, or
    hosts and are still to come (locked too, so that none is booked after the check)."""
    booked = (
        select(Booking.event_id)
        .join(Booking.event)
        .where(
            Booking.user_id == user_id,
            Booking.status == BOOKING_CONFIRMED,
            Event.starts_at > now,
        )
    )
    waiting = select(WaitlistEntry.event_id).where(
        WaitlistEntry.user_id == user_id, WaitlistEntry.status.in_(IN_LINE)
    )
    hosting = select(Event.id).where(
        Event.host_id == user_id, Event.cancelled_at.is_(None), Event.starts_at > now
    )
    return sorted(set(db.session.scalars(booked.union(waiting, hosting))))


def _cancel_bookings(user_id: int, event: Event, now: datetime) -> int:
    """Cancel the member's confirmed bookings of the locked `event`, if it hasn't started (a
    started one's are past bookings: kept). No notice: the address is about to go."""
    if event.starts_at <= now:
        return 0
    bookings = db.session.execute(
        select(Booking.id, Booking.quantity).where(
            Booking.user_id == user_id,
            Booking.event_id == event.id,
            Booking.status == BOOKING_CONFIRMED,
        )
    ).all()
    # Read after the event's lock: the quantities are current, so none can have changed.
    return sum(release_seats(id_, event, seats, seats, now) for id_, seats in bookings)


def _anonymise(user: User) -> None:
    user.email = tombstone_address(user.id)
    user.display_name = FORMER_MEMBER
    user.password_hash = UNUSABLE_PASSWORD
    user.is_active = user.is_host = user.is_admin = user.reminders_enabled = False
    user.email_verified_at = user.host_terms_accepted_at = None
    user.session_generation += 1  # every session ends (inactive ones can't load anyway)
    user.calendar_generation += 1  # and every calendar-feed link stops working
