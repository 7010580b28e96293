"""Changes to members' calendar feeds."""

from __future__ import annotations

from sqlalchemy import update

from eventmate.extensions import db
from eventmate.models import User


def reset_calendar_link(user_id: int) -> None:
    """Revoke every feed link of the member (in one statement: two resets at once both count)."""
    db.session.execute(
        update(User)
        .where(User.id == user_id)
        .values(calendar_generation=User.calendar_generation + 1)
    )
    db.session.commit()
