"""Which requests read the replica: the views marked `reads_from_replica`, unless the member
wrote a moment ago, or the replica is down or too far behind.

Read-your-writes: every commit of a write made while a member's request is served stamps the
member's session with its time (WROTE_AT); for READ_YOUR_WRITES seconds after it, their pages
read the primary. The session, not a cookie of its own: a member's session is already loaded
on every request from the store every app server shares (Redis), so the check costs nothing,
and a write already saves the session (a flash message). Visitors' writes (signing up, a
password reset) change nothing the replica's pages show, and a visitor's session is a cookie
that would keep their pages out of the edge's cache: they are not stamped.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, g, has_request_context, session
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from eventmate.extensions import db
from eventmate.replica.lag import ReplicaMonitor
from eventmate.replica.session import REPLICA, RoutingSession, has_written, primary_reads
from eventmate.stores import MEMBER_KEY

EXTENSION = "eventmate_replica"  # app.extensions key: the ReplicaMonitor
WROTE_AT = "wrote_at"  # session key: when this member last committed a write (time.time())
FAILED = "replica_failed"  # g attribute: a statement on the replica failed in this request


def init_app(app: Flask) -> None:
    if not app.config["DATABASE_REPLICA_URL"]:
        return
    with app.app_context():
        engine = db.engines["replica"]
    app.extensions[EXTENSION] = monitor = ReplicaMonitor(engine)

    @event.listens_for(engine, "handle_error")
    def _replica_failed(context) -> None:
        monitor.failed(context.original_exception)
        if has_request_context():
            setattr(g, FAILED, True)


def monitor() -> ReplicaMonitor | None:
    return current_app.extensions.get(EXTENSION)


def reads_from_replica(view: Callable) -> Callable:
    """For a view that only reads: its queries go to the replica when `replica_for_reads()`
    allows. If the replica fails a statement (it went down, or cancelled the query in a
    conflict with replay), the view runs again on the primary: the visitor sees no error."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        engine = replica_for_reads()
        if engine is None:
            return view(*args, **kwargs)
        setattr(g, REPLICA, engine)
        try:
            return view(*args, **kwargs)
        except DBAPIError:
            if not g.pop(FAILED, False):
                raise  # the primary's error: the usual 503
            db.session.rollback()
            with primary_reads():
                return view(*args, **kwargs)
        finally:
            g.pop(REPLICA, None)

    return wrapper


def replica_for_reads():
    """The replica's engine if this request may read it, else None (the primary)."""
    found = monitor()
    if found is None:
        return None
    config = current_app.config
    wrote_at = session.get(WROTE_AT)
    if wrote_at is not None and found.clock() - wrote_at < config["READ_YOUR_WRITES"]:
        return None
    return found.engine if found.usable(config["REPLICA_MAX_LAG"]) else None


@event.listens_for(RoutingSession, "after_commit")
def _stamp_the_writer(database_session: RoutingSession) -> None:
    found = monitor() if has_request_context() else None
    if found is not None and has_written(database_session) and MEMBER_KEY in session:
        session[WROTE_AT] = round(found.clock(), 3)
