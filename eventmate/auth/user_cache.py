"""The signed-in member from the cache, instead of a database query on every request.

Flask-Login loads the member on each request that asks who is signed in: every page, for the
navigation. That primary-key query and its ORM work were ~10% of a worker's time in the load
test's page mix (py-spy, loadtest/RESULTS.md), and most of a signed-in cache hit. The row's
columns, all but the password hash, are kept in the cache (Redis in production) for
USER_CACHE_SECONDS and dropped whenever the ORM writes the user, so a deactivated account or
a new name shows at the next request. The cached member is attached to the request's
database session without a query (SQLAlchemy's merge with load=False), so anything else it
is asked for (its bookings, the hash) loads as usual. With Redis down it is a plain query.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, make_transient_to_detached, object_session

from eventmate.extensions import cache, db
from eventmate.models import User

CACHED_COLUMNS = ("id", "email", "display_name", "is_host", "is_admin", "is_active", "created_at")
CHANGED = "eventmate_changed_users"  # session.info key: ids written in this transaction


def user_key(user_id: int) -> str:
    return f"user:{user_id}"


def load(user_id: int) -> User | None:
    seconds = current_app.config["USER_CACHE_SECONDS"]
    values = cache.get(user_key(user_id)) if seconds else None
    if values is not None:
        return _attached(values)
    user = db.session.get(User, user_id)
    if user is not None and seconds:
        snapshot = {name: getattr(user, name) for name in CACHED_COLUMNS}
        cache.set(user_key(user_id), snapshot, timeout=seconds)
    return user


def _attached(values: dict) -> User:
    user = User(**values)
    make_transient_to_detached(user)  # a known row, not a new one
    return db.session.merge(user, load=False)


@event.listens_for(User, "after_update")
@event.listens_for(User, "after_delete")
def _forget_written(_mapper, _connection, user: User) -> None:
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
    if current_app and current_app.config.get("USER_CACHE_SECONDS"):
        cache.delete_many(*(user_key(user_id) for user_id in user_ids))
