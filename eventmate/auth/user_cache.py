"""The signed-in member from the cache, instead of a database query on every request.

Flask-Login loads the member on each request that asks who is signed in: every page, for the
navigation. That primary-key query and its ORM work were ~10% of a worker's time in the load
test's page mix (py-spy, loadtest/RESULTS.md), and most of a signed-in cache hit. The row's
columns, all but the password hash, are kept in the cache (Redis in production) for
USER_CACHE_SECONDS under the user's version token, which every ORM write of the user bumps,
so a deactivated account or a new name shows at the next request. The cached member is
attached to the request's database session without a query (SQLAlchemy's merge with
load=False), so anything else it is asked for (its bookings, the hash) loads as usual. With
Redis down it is a plain query. Only with a shared cache (Redis): a per-process one could not
hear of a change made by another process (config.py turns it off there).

The snapshot also holds the ids of the upcoming events the member has a confirmed booking for,
so an event page can say "You're going" without a query for the many members who haven't
booked it (the query, its connection and its rollback were a quarter of a signed-in event
page's CPU: loadtest/RESULTS.md). A new booking renews the member's snapshot, with the
event's page in one round trip (bookings.services.booked); a cancelled one may linger in the
set, which only costs the page its query.
"""

from __future__ import annotations

import logging
import zlib
from datetime import UTC, datetime

from flask import current_app, g
from sqlalchemy import event, select
from sqlalchemy.orm import Session, make_transient_to_detached, object_session

from eventmate.caching import bump, cached, user_token
from eventmate.extensions import db
from eventmate.models import BOOKING_CONFIRMED, Booking, Event, User

CACHED_COLUMNS = (
    "id", "email", "display_name", "is_host", "is_admin", "is_active", "created_at",
    "session_generation", "email_verified_at", "reminders_enabled",
)  # fmt: skip
# In the key: a snapshot cached by code with other columns is never read as these.
COLUMNS_ID = zlib.crc32(",".join((*CACHED_COLUMNS, "booked_event_ids")).encode())
CHANGED = "eventmate_changed_users"  # session.info key: ids written in this transaction
BOOKED = "eventmate_booked_event_ids"  # g key: {user id: the snapshot's booked event ids}

log = logging.getLogger(__name__)


def load(user_id: int) -> User | None:
    """The user, from a snapshot of its columns cached under its token, or from the
    database."""
    seconds = current_app.config["USER_CACHE_SECONDS"]
    if not seconds:
        return db.session.get(User, user_id)

    def snapshot() -> tuple | None:
        user = db.session.get(User, user_id)
        if user is None:
            return None
        return tuple(getattr(user, name) for name in CACHED_COLUMNS), _booked_event_ids(user_id)

    found = cached("user", f"user:{user_id}:{COLUMNS_ID}", [user_token(user_id)], snapshot, seconds)
    if found is None:
        return None
    columns, booked = found
    g.setdefault(BOOKED, {})[user_id] = booked
    # The cached member is attached to this request's session without a query (a known row,
    # not a new one; if the miss just loaded it, merge returns that same object).
    user = User(**dict(zip(CACHED_COLUMNS, columns, strict=True)))
    make_transient_to_detached(user)
    return db.session.merge(user, load=False)


def has_not_booked(user_id: int, event_id: int) -> bool:
    """True when this request's cached snapshot of the member shows no confirmed booking of
    the upcoming event; False when it does, or there is no snapshot (ask the database)."""
    booked = g.get(BOOKED, {}).get(user_id)
    return booked is not None and event_id not in booked


def _booked_event_ids(user_id: int) -> frozenset[int]:
    return frozenset(
        db.session.scalars(
            select(Booking.event_id)
            .join(Booking.event)
            .where(
                Booking.user_id == user_id,
                Booking.status == BOOKING_CONFIRMED,
                Event.starts_at > datetime.now(UTC),
            )
        )
    )


@event.listens_for(User, "after_update")
@event.listens_for(User, "after_delete")
def _changed(_mapper, _connection, user: User) -> None:
    # Now, and again once committed: a request reading between the two can't keep old values.
    session = object_session(user)
    if session is not None:
        session.info.setdefault(CHANGED, set()).add(user.id)
    _forget({user.id})




@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    changed = session.info.pop(CHANGED, None)
    if changed:
        _forget(changed)


@event.listens_for(Session, "after_rollback")
def _nothing_written(session: Session) -> None:
    session.info.pop(CHANGED, None)


def _forget(user_ids: set[int]) -> None:
    """New version tokens; never raises (it runs inside a flush or after a commit)."""
    if not current_app:
        return
    for user_id in user_ids:
        try:
            bump(user_token(user_id))
        except Exception:
            log.warning("could not drop the cached user %s", user_id, exc_info=True)
