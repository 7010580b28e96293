"""Operations on the one-box cluster (scripts/cluster), each under load, counted.

    TRUSTED_PROXIES=127.0.0.1 scripts/cluster up   # the load's client IPs count, as behind a
                                                    # load balancer (else the per-IP limit 429s)
    loadtest/drills [DRILL ...] [--seconds 30] [--connections 40] [--bookers 16]

The drills (all of them when none is named):
  kill-app           app-1's gunicorn (master and workers) killed with SIGKILL, then started
                     again with `scripts/cluster up`
  rolling-restart    `scripts/cluster restart app`: each instance drained at the edge, stopped,
                     started with the code in the checkout, put back
  replica-stop       the replica stopped for 10 s (reads fall back to the primary), then started:
                     reads must return to it
  pgbouncer-restart  `scripts/cluster restart pgbouncer-primary`, then the replica's
  redis-restart      `scripts/cluster restart redis`

During each, wrk (loadtest/wrk/pages.lua) sends a page mix through the edge, half of it as a
signed-in member (so it passes the edge's cache to the app instances), and BOOKERS threads,
each a member of its own, book seats the way a browser does: the event page, then the form with
its one-time request token. A POST that gets no answer or a 5xx is sent again, the same form, the
same token, until it gets a real answer, as a user pressing the button again would. After the
operation has finished, wrk runs AFTER seconds more: every part must have recovered.

It then checks, on the primary: every "booked" answer has its one booking; no request token made
two bookings, and no booking came without its token; every booking has its confirmation in
the outbox; seats_booked is the sum of confirmed seats for every event (the seat ledger).

It prints a table and exits 1 when a GET failed in a drill that promises none (kill-app,
rolling-restart, replica-stop), when anything failed after an operation had finished, or when
a check found a booking lost, doubled or unconfirmed. PgBouncer and Redis restarts may fail
requests while they are down (README, "Cluster on one box"): those are counted, not failed.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from loadtest import dataset
from loadtest.forms import form_fields
from loadtest.wrkrun import WrkResult, WrkSettings
from loadtest.wrkrun import run as run_wrk

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "drill-password-" + "x" * 8  # accounts made for the drills only (loadtest.accounts)
STRICT = ("kill-app", "rolling-restart", "replica-stop")  # promise no failed GET
DRILLS = (*STRICT, "pgbouncer-restart", "redis-restart")
RETRIES = 15  # a booking POST sent again at most this often, a second apart


class Cluster:
    """The running cluster, as scripts/cluster saved its settings (instance/cluster)."""

    def __init__(self, instance: Path) -> None:
        self.instance = instance
        self.folder = instance / "cluster"
        settings = self.folder / "cluster.env"
        if not settings.exists():
            raise SystemExit(f"no cluster in {self.folder}: run `scripts/cluster up` first")
        self.settings = read_settings(settings)
        self.base_url = f"https://127.0.0.1:{self.settings['HTTPS_PORT']}"
        port = self.settings["PRIMARY_PORT"]
        self.primary_url = f"postgresql://postgres@127.0.0.1:{port}/eventmate"
        self.replica_url = (
            f"postgresql://postgres@127.0.0.1:{self.settings['REPLICA_PORT']}/eventmate"
        )
        cert = Path(self.settings.get("TLS_CERT") or instance / "tls" / "localhost.crt")
        self.tls = ssl.create_default_context(cafile=str(cert))
        self.trusts_forwarded_for = "127.0.0.1" in self.settings.get("TRUSTED_PROXIES", "")

    def run(self, *args: str) -> None:
        env = {**os.environ, "EVENTMATE_INSTANCE_PATH": str(self.instance)}
        done = subprocess.run(
            [str(ROOT / "scripts" / "cluster"), *args], cwd=ROOT, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"scripts/cluster {' '.join(args)}: {done.stderr[-1500:]}")

    def kill_app(self, number: int) -> None:
        pid = int((self.folder / "run" / f"app-{number}.pid").read_text().split()[0])
        os.killpg(pid, signal.SIGKILL)  # its master and workers: a host gone at once

    def replica_reads(self) -> int:
        """Transactions the replica has served so far (its statistics, ~0.5 s behind)."""
        with dataset.engine(self.replica_url).connect() as connection:
            return connection.execute(text(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = 'eventmate'"
            )).scalar()  # fmt: skip


def read_settings(path: Path) -> dict[str, str]:
    """cluster.env's NAME=value and `export NAME=value` lines (bash's %q quoting)."""
    settings = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line.removeprefix("export "))
        if words and "=" in words[0]:
            name, _, value = words[0].partition("=")
            settings[name] = value
    return settings


# --- the operations ---------------------------------------------------------------------------


def kill_app(cluster: Cluster) -> str:
    cluster.kill_app(1)
    time.sleep(5)  # the edge has only app-2 meanwhile
    cluster.run("up")
    return "app-1 killed (SIGKILL to its process group); 5 s later started again"


def rolling_restart(cluster: Cluster) -> str:
    cluster.run("restart", "app")
    return "both instances restarted, one at a time"


def replica_stop(cluster: Cluster) -> str:
    cluster.run("stop", "postgres-replica")
    time.sleep(10)
    cluster.run("up")
    before = cluster.replica_reads()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(1)
        if cluster.replica_reads() - before > 20:
            waited = 20 - (deadline - time.monotonic())
            return f"replica stopped 10 s, started; it serves reads again after {waited:.0f} s"
    raise RuntimeError("the replica serves no reads 20 s after it started again")


def pgbouncer_restart(cluster: Cluster) -> str:
    cluster.run("restart", "pgbouncer-primary")
    cluster.run("restart", "pgbouncer-replica")
    return "PgBouncer restarted, the primary's then the replica's"


def redis_restart(cluster: Cluster) -> str:
    cluster.run("restart", "redis")
    return "Redis restarted (its data saved on shutdown and loaded again)"


OPERATIONS = {
    "kill-app": kill_app,
    "rolling-restart": rolling_restart,
    "replica-stop": replica_stop,
    "pgbouncer-restart": pgbouncer_restart,
    "redis-restart": redis_restart,
}


# --- the bookers ------------------------------------------------------------------------------


@dataclass
class Attempt:
    token: str
    outcome: str  # booked, sold out, limited, signed out, failed
    reference: str = ""
    resent: int = 0  # how often the POST went again after no answer or a 5xx
    cancelled: bool = False  # a booking, cancelled afterwards


@dataclass
class Bookers:
    cluster: Cluster
    emails: list[str]
    slugs: list[str]
    attempts: list[Attempt] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.book, args=(email,)) for email in self.emails]
        for thread in threads:
            thread.start()
        return threads

    def request(self, method, path, cookie, body=None, referer=""):
        headers = {"Cookie": cookie}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = self.cluster.base_url + referer
        return dataset.http_request(
            self.cluster.base_url, method, path, headers, body, self.cluster.tls
        )

    def book(self, email: str) -> None:
        rng = random.Random(email)
        cookie = dataset.login_cookie(self.cluster.base_url, email, PASSWORD, self.cluster.tls)
        while not self.stop.wait(rng.uniform(2.5, 3.5)):  # under the 20 a minute booking limit
            slug = rng.choice(self.slugs)
            try:
                status, _, page = self.request("GET", f"/events/{slug}/", cookie)
            except OSError:
                continue  # a page view that failed: wrk counts those
            book_path = f"/events/{slug}/book/"
            fields = form_fields(page, book_path) if status == 200 else {}
            if "request_token" not in fields:
                continue  # sold out, or the member's limit for it reached
            form = {k: fields[k] for k in ("csrf_token", "request_token")} | {"quantity": "1"}
            attempt = self.post(book_path, urllib.parse.urlencode(form), cookie, slug)
            attempt.token = fields["request_token"]
            if attempt.outcome == "booked":  # and cancelled: the seat goes back for the next
                attempt.cancelled = self.cancel(attempt.reference, cookie)
            with self.lock:
                self.attempts.append(attempt)

    def cancel(self, reference: str, cookie: str) -> bool:
        """Through the confirm page, as a member cancels; resent like a booking."""
        path = f"/bookings/{reference}/cancel/"
        for _ in range(RETRIES + 1):
            try:
                status, _, page = self.request("GET", path, cookie)
            except OSError:
                status = None
            if status == 303:
                return True  # already cancelled (an earlier POST went through): the checks tell
            fields = form_fields(page, path) if status == 200 else {}
            if "csrf_token" in fields:
                body = urllib.parse.urlencode(fields)
                try:
                    status, _, _ = self.request("POST", path, cookie, body, path)
                except OSError:
                    status = None
                if status == 303:
                    return True
            time.sleep(1)
        return False

    def post(self, path: str, body: str, cookie: str, slug: str) -> Attempt:
        attempt = Attempt(token="", outcome="failed")
        for resent in range(RETRIES + 1):
            attempt.resent = resent
            try:
                status, headers, _ = self.request("POST", path, cookie, body, f"/events/{slug}/")
            except OSError:
                status, headers = None, {}
            location = urllib.parse.urlsplit(headers.get("Location") or "").path
            if status == 303 and location.startswith("/bookings/"):
                attempt.outcome, attempt.reference = "booked", location.split("/")[2]
                return attempt
            if status == 409:
                attempt.outcome = "sold out"
                return attempt
            if status == 429:
                attempt.outcome = "limited"
                return attempt
            if status in (302, 303) and location.startswith("/login"):
                attempt.outcome = "signed out"
                return attempt
            if status is not None and status < 500:
                attempt.outcome = f"answered {status}"
                return attempt
            time.sleep(1)
        return attempt


# --- a drill ----------------------------------------------------------------------------------


@dataclass
class Result:
    drill: str
    operation: str
    load: WrkResult
    after: WrkResult
    attempts: list[Attempt]

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for attempt in self.attempts:
            counts[attempt.outcome] = counts.get(attempt.outcome, 0) + 1
        return counts

    @property
    def cancelled(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.cancelled)

    @property
    def resent(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.resent)


def run_drill(name, cluster, paths, cookie, bookers_emails, slugs, args, out_dir) -> Result:
    print(f"==> {name}", flush=True)
    total = args.seconds
    settings = WrkSettings(args.connections, 2, total, args.think_ms)
    bookers = Bookers(cluster, bookers_emails, slugs)
    threads = bookers.start()
    loads: dict[str, WrkResult] = {}
    wrk = threading.Thread(
        target=lambda: loads.update(
            load=run_wrk(name, cluster.base_url, paths, settings, out_dir, cookie, True)
        )
    )
    wrk.start()
    time.sleep(total / 3)
    operation = OPERATIONS[name](cluster)
    print(f"    {operation}", flush=True)
    wrk.join()
    bookers.stop.set()
    for thread in threads:
        thread.join()
    after = WrkSettings(args.connections, 2, args.after, args.think_ms)
    loads["after"] = run_wrk(f"{name}-after", cluster.base_url, paths, after, out_dir, cookie, True)
    if "load" not in loads:
        raise RuntimeError(f"wrk failed during {name}: see {out_dir}")
    return Result(name, operation, loads["load"], loads["after"], bookers.attempts)


# --- checks on the primary --------------------------------------------------------------------

BOOKINGS_SQL = """
SELECT b.request_token, b.reference, b.status,
       EXISTS (SELECT 1 FROM outbox o WHERE o.booking_id = b.id
               AND o.kind = 'booking_confirmed') AS confirmed
FROM bookings b JOIN users u ON u.id = b.user_id
WHERE u.email LIKE 'loadtest-member-%' AND b.created_at >= :since
"""


def booking_problems(cluster: Cluster, since: datetime, attempts: list[Attempt]) -> list[str]:
    with dataset.engine(cluster.primary_url).connect() as connection:
        rows = connection.execute(text(BOOKINGS_SQL), {"since": since}).all()
    by_token: dict[str | None, list] = {}
    for row in rows:
        by_token.setdefault(row.request_token, []).append(row)
    problems = [f"{len(v)} bookings for one request token" for v in by_token.values() if len(v) > 1]
    if None in by_token:
        problems.append(f"{len(by_token[None])} bookings without a request token")
    tokens = {attempt.token for attempt in attempts}
    strays = [token for token in by_token if token not in tokens]
    if strays:
        problems.append(f"{len(strays)} bookings no booker asked for")
    for attempt in attempts:
        found = by_token.get(attempt.token, [])
        if attempt.outcome == "booked" and [r.reference for r in found] != [attempt.reference]:
            problems.append(f"booked {attempt.reference}, but the database has {found}")
        elif attempt.cancelled and found[0].status != "cancelled":
            problems.append(f"{attempt.reference} was cancelled, but is {found[0].status}")
    unconfirmed = sum(1 for row in rows if not row.confirmed)
    if unconfirmed:
        problems.append(f"{unconfirmed} bookings without their confirmation in the outbox")
    _, ledger = dataset.integrity_problems(cluster.primary_url)
    return problems + ledger


# --- set-up and the report --------------------------------------------------------------------


def prepare(cluster: Cluster, members: int, out_dir: Path) -> tuple[Path, str, list[str]]:
    """Member accounts, the page mix for wrk, a signed-in member's cookie, bookable slugs."""
    env = {
        **os.environ,
        "LOADTEST_DATABASE_URL": cluster.primary_url,
        "LOADTEST_PASSWORD": PASSWORD,
        "EVENTMATE_INSTANCE_PATH": str(out_dir / "instance"),
    }
    subprocess.run(
        [sys.executable, "-m", "loadtest.accounts", "--members", str(members), "--hosts", "0"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    with dataset.engine(cluster.primary_url).connect() as connection:
        upcoming = connection.execute(text(
            "SELECT slug FROM events WHERE starts_at > now() AND is_active AND host_active "
            "AND suspended_at IS NULL AND published_at IS NOT NULL ORDER BY id"
        )).scalars().all()  # fmt: skip
        bookable = connection.execute(text(
            "SELECT slug FROM events WHERE starts_at > now() + interval '1 day' AND is_active "
            "AND host_active AND suspended_at IS NULL AND published_at IS NOT NULL "
            "AND capacity - seats_booked - seats_held >= 10 ORDER BY id"
        )).scalars().all()  # fmt: skip
        cities = connection.execute(text("SELECT slug FROM cities ORDER BY id")).scalars().all()
    pages = ["/", "/events/", "/sitemap.xml", "/events/?q=music", "/events/?when=weekend"]
    pages += [f"/events/{slug}/" for slug in upcoming] + [f"/cities/{c}/" for c in cities]
    lines = pages + [f"@member {page}" for page in pages]
    paths = out_dir / "paths.txt"
    paths.write_text("\n".join(lines) + "\n")
    cookie = dataset.login_cookie(
        cluster.base_url, f"loadtest-member-{members}@example.com", PASSWORD, cluster.tls
    )
    if not bookable:
        raise SystemExit("no upcoming event has 10 seats left to book")
    return paths, cookie, bookable


def report(results: list[Result], problems: list[str]) -> tuple[str, bool]:
    lines = [
        "drill              GETs    failed  req/s  p99 ms  after: GETs failed  "
        "bookings  booked  cancelled  resent  gave up  other",
    ]
    ok = not problems
    for r in results:
        outcomes = r.outcomes()
        other = {k: v for k, v in outcomes.items() if k not in ("booked", "failed")}
        lines.append(
            f"{r.drill:<17} {r.load.requests:>6,} {r.load.errors:>8,} {r.load.rps:>6,.0f} "
            f"{r.load.p99_ms:>7,.0f}  {r.after.requests:>11,} {r.after.errors:>6,}  "
            f"{len(r.attempts):>8} {outcomes.get('booked', 0):>7} {r.cancelled:>10} {r.resent:>7} "
            f"{outcomes.get('failed', 0):>8}  {other or ''}"
        )
        if r.load.error_status:
            lines.append(f"{'':17} failed GETs by status: {r.load.error_status}")
        lost = r.load.errors if r.drill in STRICT else 0
        uncancelled = outcomes.get("booked", 0) - r.cancelled
        ok = ok and not lost and not r.after.errors and not outcomes.get("failed")
        ok = ok and not uncancelled
    lines += [f"  {r.drill}: {r.operation}" for r in results]
    lines.append("checks on the primary: " + ("; ".join(problems) if problems else
                 "every booking once, with its token and its confirmation; the seat ledger "
                 "balances"))  # fmt: skip
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("drills", nargs="*", help=f"any of {', '.join(DRILLS)} [all]")
    parser.add_argument("--seconds", type=int, default=30, help="load per drill [30]")
    parser.add_argument("--after", type=int, default=10, help="load after it [10]")
    parser.add_argument("--connections", type=int, default=40, help="wrk connections [40]")
    parser.add_argument("--think-ms", type=int, default=100, help="wrk pause [100]")
    parser.add_argument("--bookers", type=int, default=16, help="members booking [16]")
    parser.add_argument("--instance", type=Path, default=Path(
        os.environ.get("EVENTMATE_INSTANCE_PATH") or ROOT / "instance"))  # fmt: skip
    args = parser.parse_args(argv)
    unknown = set(args.drills) - set(DRILLS)
    if unknown:
        parser.error(f"no drill {', '.join(sorted(unknown))}; the drills: {', '.join(DRILLS)}")
    cluster = Cluster(args.instance.resolve())
    if not cluster.trusts_forwarded_for:
        print("warning: the cluster's edge doesn't trust X-Forwarded-For from 127.0.0.1, so "
              "the per-IP limit will refuse most of the load: scripts/cluster down, then "
              "TRUSTED_PROXIES=127.0.0.1 scripts/cluster up", file=sys.stderr)  # fmt: skip
    cluster.run("status")
    out_dir = ROOT / "loadtest" / "reports" / ("drills-" + time.strftime("%Y%m%d-%H%M%S"))
    out_dir.mkdir(parents=True)
    paths, cookie, slugs = prepare(cluster, args.bookers + 1, out_dir)
    emails = [f"loadtest-member-{n}@example.com" for n in range(1, args.bookers + 1)]
    since = datetime.now(UTC)
    results = [
        run_drill(name, cluster, paths, cookie, emails, slugs, args, out_dir)
        for name in (args.drills or DRILLS)
    ]
    attempts = [attempt for result in results for attempt in result.attempts]
    table, ok = report(results, booking_problems(cluster, since, attempts))
    (out_dir / "summary.txt").write_text(table + "\n")
    print("\n" + table + f"\n\nReport: {out_dir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
