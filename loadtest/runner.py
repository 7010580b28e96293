"""`loadtest/run`: prepare the load-test database, serve EventMate as deployed, load it, report.

Started by loadtest/run (which sets up the virtualenvs, PostgreSQL, Redis, nginx and wrk
first); `loadtest/run --help` lists the options. See loadtest/README.md. As deployed means
nginx (deploy/nginx: TLS, page cache, per-IP limits) in front of gunicorn, unless --direct.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import ssl
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import redis

from eventmate.pagecache.edge import PURGE_AGAIN_AFTER
from loadtest import dataset, edge, locustrun, mail, servers, targets
from loadtest.options import parse_args, run_heading, seconds, wants
from loadtest.report import Report, Row
from loadtest.wrkrun import WrkResult, WrkSettings
from loadtest.wrkrun import run as run_wrk

ROOT = Path(__file__).resolve().parent.parent
SATURATION_POOL = 30_000  # wrk's prepared requests (client IPs) per thread without a pause
SEARCH_CONNECTIONS = 200  # members' searches at saturation, as their target is stated


def app_env(args, out_dir: Path, ports: edge.Ports | None) -> dict[str, str]:
    """gunicorn's (and the Celery worker's) environment. EDGE_*, GUNICORN_* and DB_*
    settings pass through (GUNICORN_WORKER_CLASS=gthread loadtest/run); through the edge, wired
    as scripts/serve wires it: purges to the edge, no per-IP limit in the app (the edge has
    it). MAIL_URL is set once the SMTP server runs (measure_app)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEST_")},
        "EVENTMATE_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": os.environ["LOADTEST_DATABASE_URL"],
        "REDIS_URL": os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "PROXY_FIX_HOPS": "1",
        "SITE_HOSTS": "127.0.0.1",
        "EVENTMATE_INSTANCE_PATH": str(out_dir / "instance"),
        "LOADTEST_PASSWORD": os.environ.get("LOADTEST_PASSWORD") or secrets.token_urlsafe(18),
        # The SMTP server measure_app starts there (the flask commands before need it set).
        "MAIL_URL": f"smtp://127.0.0.1:{servers.free_port()}",
    }
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if ports:
        env["SITE_URL"] = f"https://127.0.0.1:{ports.https}"
        env["EDGE_PURGE_URLS"] = f"http://127.0.0.1:{ports.purge}"
        env["RATELIMIT_APPLICATION"] = os.environ.get("RATELIMIT_APPLICATION", "")
    else:  # no edge to purge (with one, event pages would be cached longer than listings)
        env.pop("EDGE_PURGE_URLS", None)
    return env


@dataclass
class Stack:
    """What the load goes to: gunicorn (one instance or several), and nginx in front unless
    --direct (then the load goes to the first instance only)."""

    apps: list[servers.Gunicorn]
    front: edge.Edge | None

    @property
    def base_url(self) -> str:
        return self.front.base_url if self.front else self.apps[0].base_url

    @property
    def tls(self) -> ssl.SSLContext | None:
        return edge.client_context(self.front.cert) if self.front else None

    def cpu_seconds(self) -> tuple[float, float | None]:
        app = sum(instance.cpu_seconds() for instance in self.apps)
        return app, self.front.cpu_seconds() if self.front else None

    def settle(self) -> None:
        for instance in self.apps:
            instance.settle()

    def cost(self, before: tuple[float, float | None], row: WrkResult | Row) -> None:
        """Set the row's CPU time per request, gunicorn's (all instances) and nginx's, since
        `before`."""
        app, nginx = self.cpu_seconds()
        row.cpu_ms = cpu_ms_per_request(app - before[0], row.requests)
        if nginx is not None:
            row.edge_cpu_ms = cpu_ms_per_request(nginx - before[1], row.requests)

    def wrk(self, name: str, paths: Path, settings: WrkSettings, out_dir, cookie="") -> WrkResult:
        """One wrk run, costed; through the edge its responses are counted by X-Cache-Status."""
        before = self.cpu_seconds()
        result = run_wrk(
            name, self.base_url, paths, settings, out_dir, cookie, count_responses=bool(self.front)
        )
        self.cost(before, result)
        return result


def measure_app(
    args, env, ports, out_dir: Path, report: Report, wrk: dict[str, WrkResult], locust: list[Row]
) -> tuple[servers.Memory, mail.MailCheck]:
    """Serve EventMate (behind the edge unless --direct) with its Celery worker and beat, run
    the chosen scenarios against it; the memory of its servers, and what became of the emails
    of the run."""
    port = args.port or servers.free_port()
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # no sessions, limits or pages from before
    paths = {k: out_dir / f"paths-{k}.txt" for k in ("mix", "anon", "events", "search")}
    memory = servers.Memory()
    database = env["DATABASE_URL"]
    with contextlib.ExitStack() as running:  # unwinds in reverse: nginx stops before gunicorn
        sink = running.enter_context(mail.Sink(urlsplit(env["MAIL_URL"]).port, env, out_dir))
        sink.wait_ready()
        apps = []
        for number in range(1, args.instances + 1):
            name, log = "gunicorn", out_dir / "gunicorn-app.log"
            if args.instances > 1:
                name, log = f"gunicorn-{number}", out_dir / f"gunicorn-app-{number}.log"
            instance = servers.Gunicorn("wsgi:app", env, port, log, memory, name)
            apps.append(running.enter_context(instance))
            instance.wait_ready()
            print(f"==> EventMate (production config) on {instance.base_url}", flush=True)
            port = servers.free_port()
        jobs = [running.enter_context(mail.Celery(role, env, out_dir)) for role in mail.ROLES]
        # Start from what a running site is in: the reminders beat would have queued by now
        # (beat's first run is 10 minutes away) sent, nothing pending.
        dataset.flask(env, "jobs", "run", "reminders")
        pending, waited = mail.wait_for_outbox(database, None, mail.DRAIN_TIMEOUT)
        print(f"==> Celery worker and beat: outbox drained in {waited:.1f} s "
              f"({pending} pending), mail to {env['MAIL_URL']}", flush=True)  # fmt: skip
        since = mail.database_now(database)
        front = None
        if ports:
            upstreams = [instance.port for instance in apps]
            front = running.enter_context(edge.Edge(env, ports, upstreams, out_dir, memory))
            front.wait_ready()
            print(f"==> The edge (nginx, deploy/nginx) on {front.base_url}", flush=True)
        stack = Stack(apps, front)
        member = f"loadtest-member-{args.members}@example.com"
        cookie = dataset.login_cookie(stack.base_url, member, env["LOADTEST_PASSWORD"], stack.tls)
        for path in paths.values():
            for problem in dataset.preflight(
                stack.base_url, path, cookie, context=stack.tls, edge=bool(front)
            ):
                report.notes.append(f"preflight {path.name}: {problem}")
                print(f"!!  preflight {path.name}: {problem}", flush=True)
        threads = args.wrk_threads
        if args.warmup:  # fills pools and caches, as steady traffic would have
            warm_paths = out_dir / "paths-warmup.txt"
            warm_paths.write_text(paths["mix"].read_text() + paths["events"].read_text())
            warm = WrkSettings(min(50, args.connections), threads, args.warmup)
            run_wrk("warmup", stack.base_url, warm_paths, warm, out_dir, cookie)
        for scenario, key, name in (("wrk-mix", "mix", "mix"), ("anon-mix", "anon", "anon-mix")):
            if wants(args, scenario):
                stack.settle()
                settings = WrkSettings(
                    args.connections, threads, seconds(args, scenario), args.think_ms
                )
                wrk[key] = stack.wrk(name, paths[key], settings, out_dir, cookie)
        if wants(args, "saturation"):
            # Cached event pages pass 10,000 req/s through the edge here: 30,000 client IPs per
            # thread keep each one far below the per-IP limit (at 14,000 req/s: 14 a minute).
            settings = WrkSettings(
                args.connections, threads, seconds(args, "saturation"), pool=SATURATION_POOL
            )
            stack.settle()
            wrk["event"] = stack.wrk("event-page", paths["events"], settings, out_dir)
            stack.settle()
            searching = replace(settings, connections=min(args.connections, SEARCH_CONNECTIONS))
            wrk["search"] = stack.wrk("search-member", paths["search"], searching, out_dir, cookie)
        if wants(args, "locust"):
            stack.settle()
            before = stack.cpu_seconds()
            ca_file = front.cert if front else None
            duration = seconds(args, "locust")
            with mail.paused(jobs if args.mail_after_load else []):
                rows = locustrun.run(
                    args, stack.base_url, env["LOADTEST_PASSWORD"], duration, out_dir, ca_file
                )
            stack.cost(before, rows[-1])  # "Aggregated"
            locust.extend(rows)
        if front:
            if wants(args, "locust"):  # bookings and edits: the app purges again 2 s later
                time.sleep(PURGE_AGAIN_AFTER + 0.5)
            front.stop()
        for instance in apps:
            instance.stop()
        pending, drain_seconds = mail.wait_for_outbox(database, since, mail.DRAIN_TIMEOUT)
        for job in jobs:
            cpu = job.cpu_seconds()
            job.stop()
            report.notes.append(f"{job.name}: peak RSS {job.peak.describe()}; CPU {cpu:.1f} s")
    memory.stop()
    return memory, mail.check(database, since, sink.send_keys(), drain_seconds)


def cpu_ms_per_request(cpu_seconds: float, requests: int) -> float | None:
    return 1000 * cpu_seconds / requests if requests else None


BASELINE_WORKER_CONNECTIONS = "1000"


def measure_baseline(args, env, out_dir: Path, wrk: dict[str, WrkResult]) -> servers.Peak:
    """The bare Flask app, served by gunicorn directly (never through the edge), as before."""
    paths = out_dir / "paths-baseline.txt"
    paths.write_text("/\n")
    port = args.port or servers.free_port()
    # Clients connect straight to it, so it accepts them all (gunicorn's gevent default), as the
    # baseline always has: gunicorn.conf.py's bound is for the edge's connections only.
    env = {**env, "GUNICORN_WORKER_CONNECTIONS": BASELINE_WORKER_CONNECTIONS}
    with servers.Gunicorn("loadtest.baseline:app", env, port, out_dir / "gunicorn-base.log") as b:
        b.wait_ready()
        print(f"==> Baseline (loadtest/baseline.py, same gunicorn config) on {b.base_url}")
        stack = Stack([b], None)
        threads = args.wrk_threads
        if args.warmup:
            warm = WrkSettings(min(50, args.connections), threads, min(args.warmup, 3))
            run_wrk("baseline-warmup", b.base_url, paths, warm, out_dir)
        paced = [s for s in ("wrk-mix", "anon-mix") if wants(args, s)]
        if paced or args.scenario == "baseline":
            duration = seconds(args, paced[0] if paced else "wrk-mix")
            settings = WrkSettings(args.connections, threads, duration, args.think_ms)
            wrk["base-mix"] = stack.wrk("baseline-paced", paths, settings, out_dir)
        if wants(args, "saturation") or args.scenario == "baseline":
            b.settle()
            settings = WrkSettings(
                args.connections, threads, seconds(args, "saturation"), pool=SATURATION_POOL
            )  # as for EventMate: the same work for wrk
            wrk["base"] = stack.wrk("baseline", paths, settings, out_dir)
        b.stop()
        return b.peak


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, __doc__.split("\n")[0])
    for sig in (signal.SIGTERM, signal.SIGHUP):  # unwind (and stop the servers) as on Ctrl+C
        signal.signal(sig, lambda number, _: sys.exit(128 + number))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.report_dir or ROOT / "loadtest" / "reports" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"==> Report in {out_dir}")
    ports = None if args.direct else edge.Ports.free()
    env = app_env(args, out_dir, ports)
    path = (
        "direct to gunicorn (--direct): no TLS, no page cache; the app's own per-IP limit"
        if args.direct
        else edge.describe(env)
    )
    path += "; the baseline: gunicorn directly, same settings"
    report, wrk, locust, problems = Report(heading=run_heading(args, path)), {}, [], []
    memory = emails = None
    if args.scenario != "baseline":
        dataset.prepare(env, args.events, args.members, args.hosts)
        sample = dataset.load_sample(env["DATABASE_URL"], args.seed)
        dataset.write_locust_data(sample, out_dir / "data.json")
        for kind in ("mix", "anon", "events", "search"):
            dataset.write_paths(sample, kind, out_dir / f"paths-{kind}.txt", args.seed)
        memory, emails = measure_app(args, env, ports, out_dir, report, wrk, locust)
        report.notes.append(emails.describe())
        for log in sorted(out_dir.glob("gunicorn-app*.log")):
            for line in servers.log_errors(log):
                report.notes.append(f"{log.name}: {line}")
        for line in edge.log_problems(out_dir / "edge" / "error.log"):
            report.notes.append(f"edge/error.log: {line}")
        checked, problems = dataset.integrity_problems(env["DATABASE_URL"])
        report.notes.append(f"data integrity: {checked:,} events checked, {len(problems)} bad")
    if args.scenario != "locust":  # Locust's req/s is set by users and think time: no ratio
        base = measure_baseline(args, env, out_dir, wrk)
        report.notes.append(f"baseline gunicorn: peak RSS {base.describe()}")
    targets.evaluate(report, wrk, locust)
    if memory:
        targets.memory(report, memory)
        report.check(
            "data integrity (seats_booked = confirmed seats <= capacity)",
            not problems,
            f"{len(problems)} events wrong",
        )
        report.check(
            "emails (each booking's confirmation and cancellation in the outbox, none sent "
            "twice, none lost)",
            not emails.problems,
            "; ".join(emails.problems) or "all there",
        )
    report.write(out_dir)
    print("\n" + report.render())
    print(f"\nReport: {out_dir}/summary.txt")
    if problems:
        banner = "!" * 78
        print(
            f"\n{banner}\nDATA INTEGRITY FAILED: seats_booked differs from the confirmed "
            f"bookings or exceeds the capacity\n{banner}",
            file=sys.stderr,
        )
        for problem in problems[:50]:
            print("  " + problem, file=sys.stderr)
    if emails and emails.problems:
        print("\nEMAILS WRONG: " + "; ".join(emails.problems), file=sys.stderr)
    if problems or (emails and emails.problems):
        return 2
    return 1 if args.strict and not report.all_passed else 0


if __name__ == "__main__":
    sys.exit(main())
