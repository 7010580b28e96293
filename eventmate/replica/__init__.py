"""Reads from a PostgreSQL streaming replica, writes to the primary (DATABASE_REPLICA_URL).

- Only views marked `@reads_from_replica` read the replica: the home page, search, city and
  category pages, event pages and the sitemap (routing.py). Every other view, and every
  statement that writes, uses the primary (session.py); a host's dashboard is not marked, so
  it always reads the primary.
- Read-your-writes: for READ_YOUR_WRITES seconds after a member's write, their pages read the
  primary (routing.py).
- Cached values (eventmate/caching.py) under a version token bumped in the last
  READ_YOUR_WRITES seconds are computed from the primary: the replica may not have replayed
  the write that bumped it, and its old value would be cached under the new token until it
  expires (an event page for 5 minutes, and the edge would take it too).
- Lag (lag.py) is read on the replica at most once a second per process; above
  REPLICA_MAX_LAG reads use the primary, and /health/ready/ says "degraded". It is on
  /metrics/ as eventmate_replica_lag_seconds.
- A replica that can't be reached, or fails a statement, is skipped for a few seconds (a
  circuit breaker); the request that found out is served again from the primary.

Without DATABASE_REPLICA_URL none of it runs: one database, exactly as before.

(Nothing is imported here: extensions.py imports session.py, which must not pull in routing.py
and, through it, extensions.py itself.)
"""
