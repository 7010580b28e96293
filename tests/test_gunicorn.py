"""gunicorn as deployed: `gunicorn -c gunicorn.conf.py wsgi:app` with gevent workers."""

from __future__ import annotations

import http.client
import os
import re
import signal
import threading
import time
import urllib.parse
from collections import Counter

import pytest
from flask_migrate import upgrade

from eventmate.extensions import db
from tests.conftest import app_for_database, fresh_database
from tests.factories import make_event
from tests.live import production_server, worker_pids


@pytest.fixture
def migrated_database(app, tmp_path):
    """A fresh database with one event; yields (url, event slug)."""
    with fresh_database(app) as url, app_for_database(url, str(tmp_path / "setup")) as other:
        with other.app_context():
            upgrade()
            slug = make_event().slug
            db.session.commit()
        yield url, slug


class Load:
    """Clients in threads, each request on a new connection (as a proxy without keep-alive
    sends them), recording every status and every connection error."""

    def __init__(self, base_url: str, paths: list[str], clients: int = 12) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.address = (parts.hostname, parts.port)
        self.paths = paths
        self.statuses: Counter = Counter()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, offset: int) -> None:
        n = offset
        while not self._stop.is_set():
            path = self.paths[n % len(self.paths)]
            n += 1
            connection = http.client.HTTPConnection(*self.address, timeout=30)
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                self.statuses[response.status] += 1
            except OSError as error:  # refused, reset, timed out: a dropped request
                self.errors.append(f"{path}: {error!r}")
            finally:
                connection.close()

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def test_sighup_reload_under_load_drops_no_request(migrated_database, tmp_path):
    url, slug = migrated_database
    env = {
        "EVENTMATE_CONFIG": "test",
        "TEST_DATABASE_URL": url,
        "EVENTMATE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    if os.environ.get("TEST_REDIS_URL"):
        env["TEST_REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    paths = ["/", f"/events/{slug}/", "/events/", "/health/ready/"]
    with production_server(env, workers=2) as master:
        before = worker_pids(master.pid)
        with Load(master.base_url, paths) as load:
            time.sleep(1.5)
            master.send_signal(signal.SIGHUP)
            time.sleep(3)
            master.send_signal(signal.SIGHUP)
            time.sleep(3)
            served_before_stop = sum(load.statuses.values())
        # The old workers finish what they were serving first: on a busy box that takes longer.
        after = _workers_settled(master.pid, 2, timeout=20)

    assert load.errors == []
    assert set(load.statuses) == {200}, load.statuses
    assert served_before_stop > 100
    assert len(after) == 2
    assert before.isdisjoint(after)  # every worker was replaced, twice over


def test_preloaded_app_serves_and_counts_across_workers(migrated_database, tmp_path):
    """preload_app imports the app in the master: each worker must still get its own database
    connections and write its own metrics (the directory is set before the app loads)."""
    url, slug = migrated_database
    env = {
        "EVENTMATE_CONFIG": "test",
        "TEST_DATABASE_URL": url,
        "EVENTMATE_INSTANCE_PATH": str(tmp_path / "instance"),
        "GUNICORN_PRELOAD": "1",
    }
    with production_server(env, workers=2) as master:
        with Load(master.base_url, [f"/events/{slug}/", "/health/"], clients=6) as load:
            time.sleep(2)
        parts = urllib.parse.urlsplit(master.base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        connection.request("GET", "/metrics/")
        text = connection.getresponse().read().decode()
        connection.close()
    assert load.errors == []
    assert set(load.statuses) == {200}
    served = sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("eventmate_http_requests_total{") and 'status="200"' in line
    )
    assert served >= sum(load.statuses.values())


def _workers_settled(master_pid: int, count: int, timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while len(pids := worker_pids(master_pid)) != count and time.monotonic() < deadline:
        time.sleep(0.2)
    return pids


RECYCLE_EVENTS = re.compile(r"\[(\d+)\] \[INFO\] (Recycling worker|Worker exiting)")


def _run_with_recycling(
    migrated_database, tmp_path, min_age: str, seconds: float, until_recycled: int = 0
):
    """3 workers recycling every 30 requests under load: (the load, gunicorn's log events).
    Runs `seconds`, or longer (up to 30 s) until `until_recycled` workers were recycled."""
    url, slug = migrated_database
    log = tmp_path / "gunicorn.log"
    env = {
        "EVENTMATE_CONFIG": "test",
        "TEST_DATABASE_URL": url,
        "EVENTMATE_INSTANCE_PATH": str(tmp_path / "instance"),
        "GUNICORN_MAX_REQUESTS": "30",
        "GUNICORN_MAX_REQUESTS_JITTER": "0",
        "GUNICORN_MIN_WORKER_AGE": min_age,
        "GUNICORN_LOG_LEVEL": "info",
        "GUNICORN_ERROR_LOG": str(log),
    }
    paths = ["/health/", f"/events/{slug}/"]
    with production_server(env, workers=3) as master, Load(master.base_url, paths, 9) as load:
        time.sleep(seconds)
        deadline = time.monotonic() + 30
        while _recycled(log) < until_recycled and time.monotonic() < deadline:
            time.sleep(0.5)
    return load, RECYCLE_EVENTS.findall(log.read_text())


def _recycled(log) -> int:
    return log.read_text().count("Recycling worker") if log.exists() else 0


def test_workers_recycle_one_at_a_time_and_drop_no_request(migrated_database, tmp_path):
    """max_requests: workers that reach their count together restart in turn, not at once."""
    load, events = _run_with_recycling(
        migrated_database, tmp_path, min_age="0", seconds=5, until_recycled=3
    )
    assert load.errors == []
    assert set(load.statuses) == {200}, load.statuses
    recycled = [pid for pid, what in events if what == "Recycling worker"]
    assert len(recycled) >= 3
    restarting = None
    for pid, what in events:
        if what == "Recycling worker":
            assert restarting is None, f"{pid} recycled while {restarting} was restarting"
            restarting = pid
        elif pid == restarting:
            restarting = None


def test_a_busy_worker_lives_its_minimum_age_before_recycling(migrated_database, tmp_path):
    load, events = _run_with_recycling(migrated_database, tmp_path, min_age="60", seconds=3)
    assert sum(load.statuses.values()) > 3 * 30  # so some worker went past max_requests
    assert not [event for event in events if event[1] == "Recycling worker"]


def test_recycling_goes_ahead_when_its_turn_file_cannot_be_used(tmp_path, monkeypatch):
    from eventmate import recycling

    target = tmp_path / "elsewhere"
    link = tmp_path / "turn.lock"
    link.symlink_to(target)  # a planted link is not followed
    monkeypatch.setattr(recycling, "turn_file", lambda master_pid: str(link))
    warnings = []

    class Log:
        def info(self, *args) -> None:
            pass

        def warning(self, *args, **kwargs) -> None:
            warnings.append(args)

    class Worker:
        alive, nr, ppid = True, 100, 1
        recycle_after, recycle_not_before = 10, 0.0
        log = Log()

    worker = Worker()
    recycling.recycle_if_due(worker)
    assert worker.alive is False  # recycled as gunicorn would have, not never
    assert warnings
    assert not target.exists()
