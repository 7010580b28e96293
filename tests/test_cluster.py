"""`scripts/cluster`: the one-box cluster (README, "Cluster on one box") started for real, in a
folder of its own on free ports: PostgreSQL primary and streaming replica, a PgBouncer in front
of each, Redis, two gunicorn instances, a Celery worker and beat, nginx across the instances.
The app instances are also spoken to directly, to show they behave as one site."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from eventmate.extensions import db
from tests.conftest import PASSWORD
from tests.live import ROOT, Browser, free_ports

SCRIPT = str(ROOT / "scripts" / "cluster")
PORT_NAMES = (
    "PRIMARY_PORT", "REPLICA_PORT", "PRIMARY_POOL_PORT", "REPLICA_POOL_PORT", "REDIS_PORT",
    "HTTP_PORT", "HTTPS_PORT",
)  # fmt: skip
PARTS = (
    "postgres-primary", "postgres-replica", "pgbouncer-primary", "pgbouncer-replica", "redis",
    "app-1", "app-2", "worker", "beat", "nginx",
)  # fmt: skip


class Cluster:
    def __init__(self, folder: Path) -> None:
        ports = free_ports(len(PORT_NAMES) + 3)
        self.port = dict(zip(PORT_NAMES, ports, strict=False))
        self.app_ports = ports[-3:-1]
        self.folder = folder
        self.env = {
            **os.environ,
            **{name: str(number) for name, number in self.port.items()},
            "APP_PORTS": ",".join(map(str, self.app_ports)),
            "EDGE_PURGE_LISTEN": f"127.0.0.1:{ports[-1]}",
            "EVENTMATE_INSTANCE_PATH": str(folder),
            "WEB_CONCURRENCY": "1",
            "WORKER_CONCURRENCY": "1",
            "EDGE_WORKER_PROCESSES": "1",
            # The tests' clients name themselves in X-Forwarded-For, as behind a load balancer.
            "TRUSTED_PROXIES": "127.0.0.1",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [SCRIPT, *args], env=self.env, capture_output=True, text=True, timeout=300
        )

    def url(self, pool: str) -> str:
        return f"postgresql+psycopg2://eventmate@127.0.0.1:{self.port[pool]}/eventmate"

    def app(self, number: int, client_ip: str) -> Browser:
        """A browser speaking to app instance `number` straight, as the edge would: over
        https for a client at `client_ip`."""
        port = self.app_ports[number - 1]
        return Browser(
            f"http://127.0.0.1:{port}",
            headers={
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": client_ip,
                "Referer": f"https://127.0.0.1:{port}/",
            },
        )

    def pids(self) -> set[int]:
        """Every process of the cluster: each part's and all their descendants."""
        found: set[int] = set()
        for path in self.folder.glob("cluster/**/*.pid"):  # postmaster.pid too
            pid = int(path.read_text().split()[0])
            if alive(pid):
                found |= {pid, *descendants(pid)}
        return found


def alive(pid: int) -> bool:
    """A process that runs (one that exited and awaits reaping is a zombie: 'Z')."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, children):
            found |= {child, *descendants(child)}
    return found


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def cluster(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL (runs in the PostgreSQL pass of scripts/test)")
    # Not pytest's tmp_path: the postgres and www-data users must be able to reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="eventmate-cluster-"))
    folder.chmod(0o755)
    cluster = Cluster(folder)
    try:
        started = cluster.run("up")
        assert started.returncode == 0, started.stdout + started.stderr
        yield cluster
    finally:
        cluster.run("down")
        shutil.rmtree(folder, ignore_errors=True)


def test_up_migrates_seeds_and_says_where_everything_runs(cluster):
    status = cluster.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    lines = {line.split()[0]: line.split() for line in status.stdout.splitlines()}
    for part in PARTS:
        assert lines[part][1] == "running", status.stdout
    assert lines["app-2"][3] == f"127.0.0.1:{cluster.app_ports[1]}"
    assert "replication: streaming" in status.stdout
    engine = create_engine(cluster.url("PRIMARY_POOL_PORT"))
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM events")) > 0  # the demo data
    engine.dispose()


def test_the_edge_serves_the_site_from_both_instances(cluster):
    edge = Browser(
        f"https://127.0.0.1:{cluster.port['HTTPS_PORT']}",
        cafile=str(cluster.folder / "tls" / "localhost.crt"),
        headers={"User-Agent": "cluster-test"},
    )
    status, _, page = edge.get("/")
    assert status == 200
    assert "EventMate" in page
    for _ in range(4):
        assert edge.get("/health/live/")[0] == 200
    for number in (1, 2):  # round robin: each instance answered some of them
        log = cluster.folder / "cluster" / "log" / f"app-{number}.access.log"
        assert "cluster-test" in log.read_text()


def test_a_row_written_on_the_primary_is_read_on_the_replica(cluster):
    primary = create_engine(cluster.url("PRIMARY_POOL_PORT"))
    replica = create_engine(cluster.url("REPLICA_POOL_PORT"), isolation_level="AUTOCOMMIT")
    marker = uuid.uuid4().hex
    try:
        with primary.begin() as connection:  # one transaction: replayed all at once
            connection.execute(text("CREATE TABLE cluster_probe (marker text)"))
            connection.execute(text("INSERT INTO cluster_probe VALUES (:m)"), {"m": marker})
        with replica.connect() as connection:
            assert connection.scalar(text("SELECT pg_is_in_recovery()"))
            deadline = time.monotonic() + 30
            while not connection.scalar(text("SELECT to_regclass('cluster_probe') IS NOT NULL")):
                assert time.monotonic() < deadline, "the table never reached the replica"
                time.sleep(0.1)
            rows = connection.scalars(text("SELECT marker FROM cluster_probe")).all()
            assert rows == [marker]
    finally:
        with primary.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS cluster_probe"))
        primary.dispose()
        replica.dispose()


def member(cluster, email: str) -> None:
    created = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "users", "create", email, "--password", PASSWORD,
         "--name", "Olga"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**cluster.env, "FLASK_APP": "wsgi", "EVENTMATE_CONFIG": "default",
             "DATABASE_URL": cluster.url("PRIMARY_POOL_PORT")},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr


def test_a_member_signed_in_on_one_instance_is_signed_in_on_the_other(cluster):
    email = f"olga-{uuid.uuid4().hex[:8]}@example.com"
    member(cluster, email)
    first, second = cluster.app(1, "203.0.113.10"), cluster.app(2, "203.0.113.10")
    assert second.get("/account/")[0] == 302  # not signed in: to the login page
    first.log_in(email, PASSWORD)
    second.cookies = dict(first.cookies)
    status, _, page = second.get("/account/")
    assert status == 200
    assert "Olga" in page

    # A change made on one instance shows on the other at once: one cache, not one each.
    token = second.hidden_fields("/account/")["csrf_token"]
    form = {"csrf_token": token, "display_name": "Olga Renamed"}
    assert first.post("/account/name/", form)[0] == 303
    assert "Olga Renamed" in second.get("/account/")[2]


def test_sign_in_attempts_from_one_client_count_across_both_instances(cluster):
    client_ip = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    instances = [cluster.app(1, client_ip), cluster.app(2, client_ip)]
    token = instances[0].hidden_fields("/login/")["csrf_token"]
    instances[1].cookies = dict(instances[0].cookies)  # the same browser, either instance
    statuses = []
    for attempt in range(21):  # 20 a minute per client; each address tried once
        browser = instances[attempt % 2]
        form = {"csrf_token": token, "email": f"nobody{attempt}@example.com", "password": "x"}
        statuses.append(browser.post("/login/", form)[0])
    assert 429 not in statuses[:20], statuses
    assert statuses[20] == 429  # 10 on each: only counted together is the budget spent


def test_down_stops_every_process_and_up_brings_the_data_back(cluster):
    pids = cluster.pids()
    assert len(pids) >= len(PARTS)
    stopped = cluster.run("down")
    assert stopped.returncode == 0, stopped.stderr
    assert not [pid for pid in pids if alive(pid)]
    for port in [*cluster.port.values(), *cluster.app_ports]:
        assert not listening(port), port
    assert cluster.run("status").returncode != 0

    started = cluster.run("up")  # the data is kept: migrated and seeded already
    assert started.returncode == 0, started.stdout + started.stderr
    assert "Loaded demo data" not in started.stdout
    assert cluster.run("status").returncode == 0


def edge(cluster, client_ip: str = "203.0.113.50") -> Browser:
    return Browser(
        f"https://127.0.0.1:{cluster.port['HTTPS_PORT']}",
        cafile=str(cluster.folder / "tls" / "localhost.crt"),
        headers={"X-Forwarded-For": client_ip},
    )


class Visitors:
    """Searches through the edge, one after another, each new (so the app answers it, not the
    edge's cache), each from a client of its own, until stopped: the statuses they got."""

    def __init__(self, cluster) -> None:
        self.cluster, self.statuses = cluster, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.visit)

    def visit(self) -> None:
        for n in itertools.count():
            if self.done.is_set():
                return
            browser = edge(self.cluster, f"10.77.{n // 250 % 250}.{n % 250 + 1}")
            try:
                self.statuses.append(browser.get(f"/events/?q=visit{uuid.uuid4().hex[:6]}")[0])
            except OSError as error:
                self.statuses.append(type(error).__name__)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


def app_pids(cluster) -> list[int]:
    run = cluster.folder / "cluster" / "run"
    return [int((run / f"app-{n}.pid").read_text()) for n in (1, 2)]


def test_a_rolling_restart_answers_every_request_and_keeps_members_signed_in(cluster):
    email = f"rolling-{uuid.uuid4().hex[:8]}@example.com"
    member(cluster, email)
    browser = edge(cluster, "203.0.113.77")
    browser.log_in(email, PASSWORD)
    before = app_pids(cluster)

    with Visitors(cluster) as visitors:
        time.sleep(1)
        restarted = cluster.run("restart", "app")
        time.sleep(1)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr

    after = app_pids(cluster)
    assert not set(before) & set(after)  # both instances are new processes
    assert not [pid for pid in before if alive(pid)]
    assert len(visitors.statuses) > 20
    assert set(visitors.statuses) == {200}, visitors.statuses
    # The new instances run with the settings `up` was given: the same secret key.
    assert browser.get("/account/")[0] == 200


def test_a_part_stopped_is_started_again_by_up_and_pages_are_served_meanwhile(cluster):
    stopped = cluster.run("stop", "postgres-replica")
    assert stopped.returncode == 0, stopped.stderr
    status = cluster.run("status")
    assert status.returncode == 1
    assert [line.split()[1] for line in status.stdout.splitlines()
            if line.startswith("postgres-replica ")] == ["stopped"]  # fmt: skip
    # Without the replica, the pages it served come from the primary.
    assert edge(cluster).get(f"/events/?q=nor{uuid.uuid4().hex[:6]}")[0] == 200

    assert cluster.run("up").returncode == 0
    assert cluster.run("status").returncode == 0
    assert cluster.run("stop", "no-such-part").returncode == 2
