"""Prometheus metrics, one set per process.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR is set by the master before any worker imports this
module (gunicorn.conf.py), so every worker writes its samples to files there and `/metrics/`
adds them up across workers (prometheus_client's multiprocess mode). Without it (tests, the
development server) the default in-process registry is used.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Label values come from fixed sets. The client chooses the method and the path, and each new
# label value would be a new series, kept for the life of the process (and under gunicorn in
# its files): any method outside METHODS, and any request no route matched, count as OTHER.
OTHER = "OTHER"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "eventmate_http_requests_total", "HTTP requests answered.", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "eventmate_http_request_duration_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_POOL_IN_USE = Gauge(
    "eventmate_db_pool_connections_in_use",
    "PostgreSQL connections checked out of the pool.",
    multiprocess_mode="livesum",
)
CACHE_LOOKUPS = Counter(
    "eventmate_cache_lookups_total", "Cache lookups, by what was looked up and the result.",
    ["kind", "result"],
)  # fmt: skip
BOOKINGS_CREATED = Counter("eventmate_bookings_created_total", "Bookings confirmed.")
SEATS_BOOKED = Counter("eventmate_seats_booked_total", "Seats taken by confirmed bookings.")
REDIS_CIRCUIT_OPEN = Gauge(
    "eventmate_redis_circuit_open",
    "1 while the circuit breaker skips this Redis after a failure, else 0.",
    ["redis"],
    multiprocess_mode="livemax",
)

# The read replica (eventmate/replica): each worker's latest reading; under gunicorn the most
# recent of the live workers' is shown.
REPLICA_LAG = Gauge(
    "eventmate_replica_lag_seconds",
    "How far the read replica's replay is behind (0 when it has replayed all it received).",
    multiprocess_mode="livemostrecent",
)
REPLICA_CIRCUIT_OPEN = Gauge(
    "eventmate_replica_circuit_open",
    "1 while reads skip the replica after a failure (they go to the primary), else 0.",
    multiprocess_mode="livemax",
)


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER


def endpoint_label(endpoint: str | None, endpoints: Collection[str]) -> str:
    """The matched endpoint if the app registered it (`app.view_functions`), else OTHER."""
    return endpoint if endpoint is not None and endpoint in endpoints else OTHER


def exposition() -> tuple[bytes, str]:
    """The text format, summed over all workers when running under gunicorn."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
