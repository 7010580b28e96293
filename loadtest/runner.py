"""`loadtest/run`: prepare the load-test database, serve EventMate as deployed, load it, report.

Started by loadtest/run (which sets up the virtualenvs, PostgreSQL, Redis and wrk first);
`loadtest/run --help` lists the options. See loadtest/README.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import redis

from loadtest import dataset, servers, targets
from loadtest.report import Report, Row, locust_rows
from loadtest.wrkrun import WrkResult, WrkSettings
from loadtest.wrkrun import run as run_wrk

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("all", "wrk-mix", "saturation", "locust", "baseline")
DEFAULT_SECONDS = {"wrk-mix": 60, "saturation": 30, "locust": 120}


SCENARIO_HELP = """scenarios: all = every one below. wrk-mix = the browsing page mix (a
quarter logged in) from 500 connections that each pause 250 ms between requests. saturation =
anonymous event pages, then searches as a logged-in member, from 500 connections without
pause. locust = the user journeys (browsing, logged in, booking and cancelling, host edits, the
load balancer). baseline = only the bare Flask app. wrk-mix and saturation also measure the
baseline with the same settings. Every option can be set in the environment too:
LOADTEST_<OPTION> (e.g. LOADTEST_USERS=200, LOADTEST_THINK_MS=0, LOADTEST_STRICT=1)."""


def env_default(name: str, default):
    return type(default)(os.environ[name]) if os.environ.get(name) else default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="loadtest/run", description=__doc__.split("\n")[0], epilog=SCENARIO_HELP
    )
    options = [
        # name, default, help
        ("scenario", "all", "what to run (below)"),
        ("duration", 0, "seconds per measured run (wrk-mix 60, saturation 30, locust 120)"),
        ("users", 500, "Locust users"),
        ("spawn-rate", 50.0, "Locust users started per second"),
        ("think", "1-3", "Locust think time between actions, seconds MIN-MAX"),
        ("think-ms", 250, "wrk page mix: pause of each connection between requests"),
        ("connections", 500, "wrk connections"),
        ("wrk-threads", 2, "wrk threads"),
        ("port", 0, "port to serve on (default: a free one)"),
        (
            "workers",
            os.cpu_count() or 1,
            "gunicorn workers (WEB_CONCURRENCY): one gevent worker "
            "per core, as measured best (RESULTS.md); 0 = gunicorn.conf.py's 2 x cores + 1",
        ),
        ("warmup", 5, "seconds of warm-up traffic before measuring"),
        ("events", 100_000, "events in the bulk seed (when the database is first seeded)"),
        ("members", 600, "load-test member accounts (one per logged-in Locust user)"),
        ("hosts", 30, "load-test host accounts"),
        ("seed", 1, "random seed for the requests sampled from the data"),
    ]
    for name, default, text in options:
        env_name = "LOADTEST_" + name.upper().replace("-", "_")
        extra = {"choices": SCENARIOS} if name == "scenario" else {}
        p.add_argument(
            f"--{name}",
            type=type(default),
            default=env_default(env_name, default),
            help=f"{text} [{default or 'auto'}]",
            **extra,
        )
    p.add_argument(
        "--strict",
        action="store_true",
        default=bool(os.environ.get("LOADTEST_STRICT")),
        help="exit 1 when a target is missed (bad data always exits 2)",
    )
    p.add_argument("--report-dir", type=Path, help="default: loadtest/reports/<timestamp>/")
    args = p.parse_args(argv)
    low, _, high = args.think.partition("-")
    try:
        if not 0 <= float(low) <= float(high or low):
            raise ValueError
    except ValueError:
        p.error("--think is MIN-MAX in seconds, e.g. 1-3")
    args.think = f"{float(low):g}-{float(high or low):g}"
    return args


def wants(args, scenario: str) -> bool:
    return args.scenario in ("all", scenario)


def run_heading(args) -> str:
    """For RESULTS.md: when, which code, on what, with how many workers."""
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    workers = args.workers or "gunicorn.conf.py default"
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit or '?'}, "
        f"{os.cpu_count()} cores, {memory_kb / 1024 / 1024:.0f} GB RAM, "
        f"{workers} gunicorn workers"
    )


def seconds(args, scenario: str) -> int:
    return args.duration or DEFAULT_SECONDS[scenario]


def app_env(args, out_dir: Path) -> dict[str, str]:
    # GUNICORN_* and DB_* settings pass through (GUNICORN_WORKER_CLASS=gthread loadtest/run).
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEST_")},
        "EVENTMATE_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": os.environ["LOADTEST_DATABASE_URL"],
        "REDIS_URL": os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "PROXY_FIX_HOPS": "1",
        "EVENTMATE_INSTANCE_PATH": str(out_dir / "instance"),
        "LOADTEST_PASSWORD": os.environ.get("LOADTEST_PASSWORD") or secrets.token_urlsafe(18),
    }
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    return env


def run_locust(args, base_url: str, env: dict, out_dir: Path) -> Path:
    duration = seconds(args, "locust")
    print(
        f"--> Locust: {args.users} users (spawn {args.spawn_rate:g}/s), think {args.think} s, "
        f"{duration} s",
        flush=True,
    )
    command = [
        str(ROOT / "loadtest" / ".venv" / "bin" / "locust"),
        "-f",
        "loadtest/locustfile.py",
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{duration}s",
        "--host",
        base_url,
        "--csv",
        str(out_dir / "locust"),
        "--html",
        str(out_dir / "locust.html"),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    locust_env = {
        **os.environ,
        "LOADTEST_DATA": str(out_dir / "data.json"),
        "LOADTEST_PASSWORD": env["LOADTEST_PASSWORD"],
        "LOADTEST_MEMBERS": str(args.members - 1),  # the last one is wrk's
        "LOADTEST_HOSTS": str(args.hosts),
        "LOADTEST_THINK": args.think,
    }
    with (out_dir / "locust.log").open("w") as log:
        done = subprocess.run(
            command, cwd=ROOT, env=locust_env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    stats = out_dir / "locust_stats.csv"
    if done.returncode != 0 or not stats.exists():
        raise RuntimeError(f"Locust failed (exit {done.returncode}); see {out_dir / 'locust.log'}")
    return stats


def measure_app(
    args, env, out_dir: Path, report: Report, wrk: dict[str, WrkResult], locust: list[Row]
) -> servers.Memory:
    """Serve EventMate, run the chosen scenarios against it; its gunicorn's memory."""
    port = args.port or servers.free_port()
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # no sessions, limits or pages from before
    mix, events, search = (out_dir / f"paths-{k}.txt" for k in ("mix", "events", "search"))
    with servers.Gunicorn("wsgi:app", env, port, out_dir / "gunicorn-app.log") as app:
        app.wait_ready()
        print(f"==> EventMate (production config) on {app.base_url}", flush=True)
        cookie = dataset.login_cookie(
            port, f"loadtest-member-{args.members}@example.com", env["LOADTEST_PASSWORD"]
        )
        for paths in (mix, events, search):
            for problem in dataset.preflight(port, paths, cookie):
                report.notes.append(f"preflight {paths.name}: {problem}")
                print(f"!!  preflight {paths.name}: {problem}", flush=True)
        threads = args.wrk_threads
        if args.warmup:  # fills pools and caches, as steady traffic would have
            warm_paths = out_dir / "paths-warmup.txt"
            warm_paths.write_text(mix.read_text() + events.read_text())
            warm = WrkSettings(min(50, args.connections), threads, args.warmup)
            run_wrk("warmup", app.base_url, warm_paths, warm, out_dir, cookie)
        if wants(args, "wrk-mix"):
            app.settle()
            settings = WrkSettings(
                args.connections, threads, seconds(args, "wrk-mix"), args.think_ms
            )
            wrk["mix"] = costed(app, run_wrk, "mix", app.base_url, mix, settings, out_dir, cookie)
        if wants(args, "saturation"):
            settings = WrkSettings(args.connections, threads, seconds(args, "saturation"))
            app.settle()
            wrk["event"] = costed(
                app, run_wrk, "event-page", app.base_url, events, settings, out_dir
            )
            app.settle()
            wrk["search"] = costed(
                app, run_wrk, "search-member", app.base_url, search, settings, out_dir, cookie
            )
        if wants(args, "locust"):
            app.settle()
            before = app.cpu_seconds()
            stats = run_locust(args, app.base_url, env, out_dir)
            rows = locust_rows(stats)
            total = rows[-1]  # "Aggregated"
            total.cpu_ms = cpu_ms_per_request(app.cpu_seconds() - before, total.requests)
            locust.extend(rows)
        app.stop()
    return app.memory


def costed(server: servers.Gunicorn, run, *args) -> WrkResult:
    """run(*args), with the gunicorn CPU time each of its requests cost on average."""
    before = server.cpu_seconds()
    result = run(*args)
    result.cpu_ms = cpu_ms_per_request(server.cpu_seconds() - before, result.requests)
    return result


def cpu_ms_per_request(cpu_seconds: float, requests: int) -> float | None:
    return 1000 * cpu_seconds / requests if requests else None


def measure_baseline(args, env, out_dir: Path, wrk: dict[str, WrkResult]) -> int:
    paths = out_dir / "paths-baseline.txt"
    paths.write_text("/\n")
    port = args.port or servers.free_port()
    with servers.Gunicorn("loadtest.baseline:app", env, port, out_dir / "gunicorn-base.log") as b:
        b.wait_ready()
        print(f"==> Baseline (loadtest/baseline.py, same gunicorn config) on {b.base_url}")
        threads = args.wrk_threads
        if args.warmup:
            warm = WrkSettings(min(50, args.connections), threads, min(args.warmup, 3))
            run_wrk("baseline-warmup", b.base_url, paths, warm, out_dir)
        if wants(args, "wrk-mix") or args.scenario == "baseline":
            settings = WrkSettings(
                args.connections, threads, seconds(args, "wrk-mix"), args.think_ms
            )
            wrk["base-mix"] = costed(
                b, run_wrk, "baseline-paced", b.base_url, paths, settings, out_dir
            )
        if wants(args, "saturation") or args.scenario == "baseline":
            b.settle()
            settings = WrkSettings(args.connections, threads, seconds(args, "saturation"))
            wrk["base"] = costed(b, run_wrk, "baseline", b.base_url, paths, settings, out_dir)
        b.stop()
        return b.memory.peak_total_kb


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):  # unwind (and stop the servers) as on Ctrl+C
        signal.signal(sig, lambda number, _: sys.exit(128 + number))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.report_dir or ROOT / "loadtest" / "reports" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"==> Report in {out_dir}")
    env = app_env(args, out_dir)
    report, wrk, locust, problems = Report(heading=run_heading(args)), {}, [], []
    memory = None
    if args.scenario != "baseline":
        dataset.prepare(env, args.events, args.members, args.hosts)
        sample = dataset.load_sample(env["DATABASE_URL"], args.seed)
        dataset.write_locust_data(sample, out_dir / "data.json")
        for kind in ("mix", "events", "search"):
            dataset.write_paths(sample, kind, out_dir / f"paths-{kind}.txt", args.seed)
        memory = measure_app(args, env, out_dir, report, wrk, locust)
        for line in servers.log_errors(out_dir / "gunicorn-app.log"):
            report.notes.append(f"gunicorn-app.log: {line}")
        checked, problems = dataset.integrity_problems(env["DATABASE_URL"])
        report.notes.append(f"data integrity: {checked:,} events checked, {len(problems)} bad")
    if args.scenario != "locust":  # Locust's req/s is set by users and think time: no ratio
        base_kb = measure_baseline(args, env, out_dir, wrk)
        report.notes.append(f"baseline gunicorn: peak RSS {base_kb / 1024:,.0f} MiB in all")
    targets.evaluate(report, wrk, locust)
    if memory:
        targets.memory(report, memory.peak_total_kb, memory.peak_process_kb, memory.peak_processes)
        report.check(
            "data integrity (seats_booked = confirmed seats <= capacity)",
            not problems,
            f"{len(problems)} events wrong",
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
        return 2
    return 1 if args.strict and not report.all_passed else 0


if __name__ == "__main__":
    sys.exit(main())
