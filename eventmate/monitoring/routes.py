"""`/metrics/` for Prometheus: who may scrape it is decided in access.py."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from eventmate.extensions import limiter, talisman
from eventmate.monitoring.access import may_scrape
from eventmate.monitoring.metrics import exposition
from eventmate.replica.routing import monitor as replica_monitor

bp = Blueprint("monitoring", __name__)


@bp.get("/metrics/")
@talisman(force_https=False)
@limiter.exempt
def metrics():
    if not may_scrape():
        abort(404)  # don't advertise it
    if (replica := replica_monitor()) is not None:
        replica.lag()  # the gauge as of at most a second ago, even with no traffic
    body, content_type = exposition()
    response = Response(body, content_type=content_type)
    response.cache_control.no_store = True
    return response
