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
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, make_transient_to_detached, object_session

from eventmate.extensions import cache, db
from eventmate.models import User
from eventmate.pagecache.versions import bump

CACHED_COLUMNS = ("id", "email", "display_name", "is_host", "is_admin", "is_active", "created_at")
CHANGED = "eventmate_changed_users"  # session.info key: ids written in this transaction

log = logging.getLogger(__name__)


def user_key(user_id: int) -> str:
    return f"user:{user_id}"


def version_key(user_id: int) -> str:
    return f"user-version:{user_id}"


def load(user_id: int) -> User | None:
    """The user, from a snapshot stored under the user's current version token, or from the
    database. A write bumps the token: a snapshot read from the database before the write but
    stored after it carries the old token, and is never served."""
    seconds = current_app.config["USER_CACHE_SECONDS"]
    if not seconds:
        return db.session.get(User, user_id)
    snapshot, version = cache.get_many(user_key(user_id), version_key(user_id))
    if snapshot is not None and snapshot.get("version") == version:
        user = _attached(snapshot["columns"])
        if user is not None:
            return user
    user = db.session.get(User, user_id)
    if user is not None:
        columns = {name: getattr(user, name) for name in CACHED_COLUMNS}
        cache.set(user_key(user_id), {"version": version, "columns": columns}, timeout=seconds)
    return user


def _attached(columns: dict) -> User | None:
    try:
        user = User(**columns)
    except TypeError:  # a snapshot from before a schema change
        return None
    make_transient_to_detached(user)  # a known row, not a new one
    return db.session.merge(user, load=False)


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
            bump(version_key(user_id))
        except Exception:
            log.warning("could not drop the cached user %s", user_id, exc_info=True)
