"""Creating and changing listings. Each write owns its commit."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from slugify import slugify
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from eventmate.auth.services import AccountError, user_by_email
from eventmate.bookings.notices import cancel_attendees, tell_attendees
from eventmate.caching import invalidate_event, invalidate_listings, invalidate_text_searches
from eventmate.extensions import db
from eventmate.hosts.forms import EventForm
from eventmate.models import BOOKING_CONFIRMED, Booking, City, Event, User, normalise_email
from eventmate.models.waitlist import CLOSED, IN_LINE, WaitlistEntry
from eventmate.notifications import outbox
from eventmate.waitlist.offers import offer_added_seats

SLUG_SUFFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


class CapacityBelowBookings(ValueError):
    pass


class EventNotCancellable(ValueError):
    """Why an event can't be cancelled (already cancelled, or already started), or, once
    cancelled, listed again."""


class ListingSuspended(Exception):
    """An administrator suspended the event; only `flask events unsuspend` lifts it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EventNotPublishable(ValueError):
    """Why a draft can't be published (cancelled, or its start has passed)."""


SUSPENSION_REASON_LENGTH = 200  # Event.suspension_reason


def new_slug(title: str) -> str:
    """Readable and stable: the title's words now, plus a random suffix; never changes later."""
    suffix = "".join(secrets.choice(SLUG_SUFFIX_ALPHABET) for _ in range(6))
    base = slugify(title, max_length=100, word_boundary=True) or "event"
    return f"{base}-{suffix}"


def create_event(host: User, form: EventForm) -> Event:
    """A draft (published_at NULL): off the site, and so in no cached page, until its host
    publishes it (publish_event)."""
    event = Event(slug=new_slug(form.title.data), host_id=host.id, seats_booked=0)
    _apply(event, form)
    db.session.add(event)
    db.session.commit()
    return event


def publish_event(event: Event, now: datetime) -> bool:
    """Put a draft on the site for good (it is listed as far as its other switches allow:
    Event.is_listed). False if it was published already (nothing changes). Refused for a
    cancelled draft, a suspended one (ListingSuspended) and one whose start has passed.
    Commits."""
    if not event.is_draft:
        return False
    if event.is_cancelled:
        raise EventNotPublishable("It was cancelled, for good: it can't be published.")
    if event.is_suspended:
        raise ListingSuspended(event.suspension_reason)
    if event.starts_at <= now:
        raise EventNotPublishable(
            "Its start time has passed: edit it to a time to come, then publish it."
        )
    event.published_at = now
    db.session.commit()
    event_changed(event)
    return True


def update_event(event: Event, form: EventForm) -> Event:
    """Save the form; the capacity may never drop below the seats already booked or held for
    the waitlist. Seats a higher capacity adds go to the waitlist first (eventmate/waitlist)."""
    if form.capacity.data < event.seats_booked + event.seats_held:
        raise CapacityBelowBookings(event.seats_booked + event.seats_held)
    _apply(event, form)
    changed = _changed_fields(event)
    notices = _tell_attendees_of_changes(event, changed)
    try:
        offers = offer_added_seats(event, changed)  # before the commit: nobody takes them first
        db.session.commit()
    except IntegrityError:
        # A booking landed between the check and the commit; the database refused.
        db.session.rollback()
        taken = db.session.get(Event, event.id, populate_existing=True)
        raise CapacityBelowBookings(taken.seats_booked + taken.seats_held) from None
    event_changed(event, changed)
    outbox.dispatch([*notices, *offers])
    return event


def _tell_attendees_of_changes(event: Event, changed: set[str]) -> list[int]:
    """A new start time or a new venue is news to everyone booked (an upcoming event only):
    one message per booking, in this transaction, with what it was before."""
    state, details = inspect(event), {}
    now = datetime.now(UTC)
    old_start = _old_value(state, "starts_at")
    if "starts_at" in changed and old_start is not None and old_start != event.starts_at:
        details["starts_at"] = old_start.isoformat()
    if changed & {"venue_name", "venue_address", "city_id"}:
        old_place, new_place = _place(state, before=True), _place(state, before=False)
        if old_place != new_place:
            details["venue"] = old_place
    if not details or min(old_start or event.starts_at, event.starts_at) <= now:
        return []
    change = secrets.token_hex(4)  # each edit is news of its own
    return tell_attendees(event.id, "event_changed", f"event-changed:{change}", details, now)


def _old_value(state, name: str):
    deleted = state.attrs[name].history.deleted
    return deleted[0] if deleted else None


def _place(state, before: bool) -> str:
    """ "Venue, address, city" as it was before the edit, or as it is now."""
    parts = []
    for name in ("venue_name", "venue_address", "city_id"):
        value = getattr(state.object, name)
        if before and state.attrs[name].history.deleted:
            value = state.attrs[name].history.deleted[0]
        parts.append(db.session.get(City, value).name if name == "city_id" else value)
    return ", ".join(filter(None, parts))


def cancel_event(event: Event, reason: str = "") -> int:
    """Call the event off for good (its host or an administrator): it leaves the site, every
    confirmed booking is cancelled and its member told, the waitlist is closed. One
    transaction, with the event's row locked first, so no booking lands meanwhile. Returns how
    many bookings were cancelled. Commits."""
    reason = " ".join(reason.split())[:SUSPENSION_REASON_LENGTH]
    now = datetime.now(UTC)
    locked = db.session.scalar(
        select(Event).where(Event.id == event.id).with_for_update().execution_options(
            populate_existing=True
        )
    )  # fmt: skip
    if locked.cancelled_at is not None:
        db.session.rollback()
        raise EventNotCancellable("This event is already cancelled.")
    if locked.starts_at <= now:
        db.session.rollback()
        raise EventNotCancellable("This event has started, so it can no longer be cancelled.")
    notices = cancel_attendees(event.id, reason, now)
    db.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.event_id == event.id, WaitlistEntry.status.in_(IN_LINE))
        .values(status=CLOSED)
        .execution_options(synchronize_session=False)
    )
    locked.cancelled_at, locked.is_active = now, False
    locked.seats_booked = locked.seats_held = 0
    db.session.commit()
    event_changed(event)
    outbox.dispatch(notices)
    return len(notices)


def set_active(event: Event, active: bool) -> None:
    """The host's own switch. Listing a suspended event again is refused (ListingSuspended):
    hiding one is allowed, and it then stays hidden when the suspension is lifted."""
    if active and event.is_cancelled:
        raise EventNotCancellable("It was cancelled, for good: it can't be listed again.")
    if active and event.is_suspended:
        raise ListingSuspended(event.suspension_reason)
    event.is_active = active
    db.session.commit()
    event_changed(event)


def suspend(event: Event, reason: str) -> None:
    """An administrator's takedown: off the site until `unsuspend`, whatever the host does.
    Bookings are kept. Suspending again replaces the reason and keeps the first time."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("Give a reason: the host sees it on their dashboard.")
    if len(reason) > SUSPENSION_REASON_LENGTH:
        raise ValueError(f"Keep the reason to {SUSPENSION_REASON_LENGTH} characters.")
    event.suspended_at = event.suspended_at or datetime.now(UTC)
    event.suspension_reason = reason
    db.session.commit()
    event_changed(event)


def unsuspend(event: Event) -> None:
    """Lift the suspension; the event is listed again if its host lists it."""
    event.suspended_at = None
    event.suspension_reason = ""
    db.session.commit()
    event_changed(event)


def set_account_active(email: str, active: bool) -> tuple[User, int]:
    """Deactivate an account (it can no longer log in, and open sessions stop working) or
    reactivate it, and with it all the events it hosts (rows and bookings kept): reactivated,
    only what the host lists and no administrator suspended is back on the site
    (Event.is_listed). Returns the user and how many events it hosts. Commits once, so the
    account and its events never disagree."""
    user = user_by_email(email)
    if user is None:
        raise AccountError(f"There is no account for {normalise_email(email)}.")
    user.is_active = active
    slugs = list_hosted_events(user, active)
    db.session.commit()
    hosted_events_changed(slugs)
    return user, len(slugs)


def list_hosted_events(user: User, listed: bool) -> list[str]:
    """Put every event `user` hosts on or off the site as far as their host goes (host_active;
    the event's own switches still apply: Event.is_listed). Returns their slugs, for
    hosted_events_changed after the caller's commit."""
    slugs = list(db.session.scalars(select(Event.slug).where(Event.host_id == user.id)))
    db.session.execute(
        update(Event)
        .where(Event.host_id == user.id)
        .values(host_active=listed)
        .execution_options(synchronize_session=False)
    )
    return slugs


def hosted_events_changed(slugs: list[str]) -> None:
    if slugs:
        invalidate_event(*slugs)
        invalidate_listings()


# What listings read of an event: its card (_macros.html event_card) and the search filters.
LISTED_FIELDS = frozenset({
    "title", "category", "city_id", "starts_at", "capacity", "price", "currency",
    "is_active", "suspended_at", "host_active", "published_at",
})  # fmt: skip


def event_changed(event: Event, changed: set[str] | None = None) -> None:
    """The event's page is out of date, and so is any listing that shows or finds what
    changed (`changed`: field names; None when anything may have, e.g. its images)."""
    invalidate_event(event.slug)
    if changed is None or changed & LISTED_FIELDS:
        invalidate_listings()
    elif "description" in changed:  # searched, not shown on cards
        invalidate_text_searches()


def _changed_fields(event: Event) -> set[str]:
    """Fields given a different value since loading (before the commit forgets)."""
    state = inspect(event)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def _apply(event: Event, form: EventForm) -> None:
    event.title = form.title.data.strip()
    event.description = form.description.data.strip()
    event.category = form.category.data
    event.city_id = form.city_id.data
    event.venue_name = form.venue_name.data.strip()
    event.venue_address = (form.venue_address.data or "").strip()
    event.starts_at = form.utc(form.starts_at)
    event.ends_at = form.utc(form.ends_at)
    event.capacity = form.capacity.data
    event.max_per_booking = form.max_per_booking.data
    event.price = form.price.data
    event.currency = form.chosen_currency()


def attendees(event_id: int) -> list[Booking]:
    """Confirmed bookings with their members, in booking order (1 query)."""
    query = (
        select(Booking)
        .join(Booking.user)
        .options(contains_eager(Booking.user))
        .where(Booking.event_id == event_id, Booking.status == BOOKING_CONFIRMED)
        .order_by(Booking.created_at, Booking.id)
    )
    return list(db.session.scalars(query))


ATTENDEE_COLUMNS = ["reference", "name", "email", "seats", "booked_at_utc"]


def attendees_csv(bookings: Iterable[Booking], stream: io.TextIOBase | None = None) -> str:
    """CSV of attendees. Cells that a spreadsheet would run as a formula are neutralised."""
    stream = stream or io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(ATTENDEE_COLUMNS)
    for booking in bookings:
        writer.writerow([
            booking.reference,
            _safe_cell(booking.user.display_name),
            _safe_cell(booking.user.email),
            booking.quantity,
            booking.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        ])  # fmt: skip
    return stream.getvalue() if isinstance(stream, io.StringIO) else ""


def _safe_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
