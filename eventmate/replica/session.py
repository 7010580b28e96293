"""The database session that sends a request's reads to the replica when its view opted in.

`db.session` is a RoutingSession (eventmate/extensions.py). Its `get_bind` (SQLAlchemy's
documented hook for choosing an engine per statement) returns the replica's engine only while
`g` holds it, which only `reads_from_replica` (routing.py) puts there, and only for reads: an
INSERT, UPDATE or DELETE, and everything after the session first wrote (the request reads
what it just wrote, in its own transaction), go to the primary. Without a replica nothing ever
puts an engine in `g`, and this is Flask-SQLAlchemy's session as it was.

This module imports nothing of the app's, so extensions.py can import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import UpdateBase, event

REPLICA = "replica_engine"  # g attribute: the engine this request's reads may use
WROTE = "eventmate_wrote"  # session.info key: this session wrote something


class RoutingSession(Session):
    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        replica = g.get(REPLICA) if bind is None and has_app_context() else None
        if replica is not None and not has_written(self) and not isinstance(clause, UpdateBase):
            return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@event.listens_for(RoutingSession, "before_flush")
def _flushing(session, _flush_context, _instances) -> None:
    session.info[WROTE] = True


@event.listens_for(RoutingSession, "do_orm_execute")
def _executing(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


def has_written(session) -> bool:
    """Did this session write (flush, or run an INSERT, UPDATE or DELETE)? A commit after
    only reading (auth.services.release_connection) is no write."""
    return bool(session.info.get(WROTE))


def reading_replica() -> bool:
    return has_app_context() and g.get(REPLICA) is not None


@contextmanager
def primary_reads() -> Iterator[None]:
    """The block reads from the primary, whatever the view opted into."""
    replica = g.pop(REPLICA, None) if has_app_context() else None
    try:
        yield
    finally:
        if replica is not None:
            setattr(g, REPLICA, replica)
