"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`. Every value comes from the
environment (README, "Deployment", lists them).

gevent workers behind the edge (deploy/nginx), which holds the clients' connections: each
connection nginx opens here carries one request at a time, so `worker_connections` bounds the
requests a worker runs at once, and the rest wait in the listen queue (README, "gunicorn and
gevent", and loadtest/RESULTS.md have the measurements). PostgreSQL's pool has no overflow
(config.py): overflow connections are closed on return, so under many greenlets every request
paid for a new backend.
"""

import multiprocessing
import os
import re
import shutil
import tempfile

worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")

if worker_class == "gevent":
    # Before the app (psycopg2, redis, urllib3, threading locks in SQLAlchemy's pool) is
    # imported, in the master with preload_app and in every worker without it. gunicorn has
    # imported `ssl` itself by now, but only uses it for its own TLS (certfile), which we leave
    # to the proxy in front; gevent's warning about that is expected and harmless.
    from gevent import monkey

    monkey.patch_all()

from gunicorn import glogging  # noqa: E402  (after the patching above)


def _prepare_metrics_dir() -> None:
    """Prometheus multiprocess mode: one fresh directory per master, shared by its workers. Set
    here, at load time, because with preload_app the app (and prometheus_client) is imported
    before any server hook runs. A reload (HUP) runs this file again: keep the directory then,
    the live workers are writing to it."""
    if os.environ.get("EVENTMATE_METRICS_DIR_READY"):
        return
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):  # counts from a previous run would be added to ours
            os.remove(os.path.join(path, name))
    else:
        path = tempfile.mkdtemp(prefix="eventmate-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        os.environ["EVENTMATE_METRICS_DIR_CREATED"] = path
    os.environ["EVENTMATE_METRICS_DIR_READY"] = "1"


_prepare_metrics_dir()

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Requests a gevent worker runs at once: with the edge in front, each connection carries one
# request at a time, and excess connections wait in the listen queue, in order, not inside the
# worker (loadtest/RESULTS.md, "Behind the edge"). Clients straight to gunicorn would need more.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "24"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))  # only for gthread
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
min_worker_age = float(os.environ.get("GUNICORN_MIN_WORKER_AGE", "60"))  # seconds
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
# The app is loaded once, in the master: a worker replaced after max_requests (every few seconds
# at full load) is a fork, not a second of CPU spent importing. A HUP then restarts workers
# with the same code; deploy new code by restarting the master.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
# %(M)s: request time in milliseconds; %({x-request-id}o)s: the id the app logs with.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" %({x-request-id}o)s'
# A calendar feed's `?key=` opens a member's bookings to whoever holds it: never in a log.
SECRET_PARAMETER = re.compile(r"(?<=[?&]key=)[^&\s]*")


class AccessLogWithoutSecrets(glogging.Logger):
    """gunicorn's logger, with secret query parameters blanked in the access log's request."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = SECRET_PARAMETER.sub("[redacted]", atoms["r"])
        atoms["q"] = SECRET_PARAMETER.sub("[redacted]", "?" + (atoms["q"] or ""))[1:]
        return atoms


logger_class = AccessLogWithoutSecrets
# Headers the proxy in front may set; ProxyFix (PROXY_FIX_HOPS) decides what the app trusts.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's control socket (gunicornc) defaults to one path per user, which every master on
# the machine (tests start several) would fight over: only when a path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
# Heartbeat files in memory, not on a disk that may stall (gunicorn's own advice for containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


def when_ready(server):
    """Before the first fork: compile the templates once for every worker to inherit, and let
    timers the preloaded app started (the rate limiter's in-memory fallback schedules one) run
    out here. Copied into each worker half-way, each died there with a KeyError traceback in
    the log at every worker start."""
    if preload_app:
        from eventmate.warmup import compile_templates

        compile_templates(server.app.wsgi())
    if worker_class == "gevent" and preload_app:
        import gevent

        gevent.sleep(0.05)


def post_fork(server, worker):
    from eventmate.recycling import take_over_recycling

    # One worker restarts at a time, none younger than a minute (eventmate/recycling.py).
    take_over_recycling(worker, min_age=min_worker_age)
    if worker_class == "gevent":
        # psycopg2 blocks the whole worker unless libpq waits through gevent.
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()
    app = server.app.wsgi() if preload_app else None
    if app is not None and "sqlalchemy" in getattr(app, "extensions", {}):
        # Connections opened in the master (there should be none) must not be shared by
        # children: drop them without closing the master's sockets. redis-py pools reset
        # themselves when they see a new pid. (Not for loadtest/baseline.py, which has none.)
        with app.app_context():
            from eventmate.extensions import db

            for engine in db.engines.values():  # the primary's, and a read replica's
                engine.dispose(close=False)


def post_request(worker, req, environ, resp):
    from eventmate.recycling import recycle_if_due

    recycle_if_due(worker)


def child_exit(server, worker):
    """Live gauges (DB pool in use) of a dead worker must stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    from eventmate.recycling import turn_file

    if os.path.exists(turn_file(server.pid)):
        os.remove(turn_file(server.pid))
    path = os.environ.get("EVENTMATE_METRICS_DIR_CREATED")
    if path:
        shutil.rmtree(path, ignore_errors=True)
