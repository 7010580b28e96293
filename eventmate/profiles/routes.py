"""A host's public profile, linked from every event page they host."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, render_template

from eventmate.profiles import bp, queries

UPCOMING_SHOWN = 24
PAST_SHOWN = 12
REVIEWS_SHOWN = 10


@bp.get("/hosts/<int(max=2147483647):host_id>/")  # past an INTEGER column: no such host
def host(host_id: int):
    host = queries.public_host(host_id)
    if host is None:
        abort(404)
    now = datetime.now(UTC)
    return render_template(
        "profiles/host.html",
        host=host,
        rating=queries.host_rating(host_id),
        upcoming=queries.upcoming(host_id, now, UPCOMING_SHOWN),
        past=queries.past(host_id, now, PAST_SHOWN),
        reviews=queries.latest_reviews(host_id, REVIEWS_SHOWN),
    )
