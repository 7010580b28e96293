"""`loadtest/run`'s options (each also a LOADTEST_* variable), and the heading of its report."""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

from loadtest import edge

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("all", "wrk-mix", "anon-mix", "saturation", "locust", "baseline")
DEFAULT_SECONDS = {"wrk-mix": 60, "anon-mix": 60, "saturation": 30, "locust": 120}

SCENARIO_HELP = """scenarios: all = every one below. wrk-mix = the browsing page mix (a
quarter logged in) from 500 connections that each pause 250 ms between requests. anon-mix = the
same pacing, anonymous only: 60% event pages, 40% searches. saturation = anonymous event pages,
then searches as a logged-in member, from 500 connections without pause. locust = the user
journeys (browsing, logged in, booking and cancelling, host edits, the load balancer). baseline
= only the bare Flask app. wrk-mix, anon-mix and saturation also measure the baseline with the
same settings. Everything goes through the edge (nginx, TLS, deploy/nginx) unless --direct; the
baseline is always served by gunicorn directly. EDGE_*, GUNICORN_* and DB_*
variables pass through to nginx and gunicorn (EDGE_UPSTREAM_KEEPALIVE=16 loadtest/run ...).
Every option can be set in the environment too: LOADTEST_<OPTION> (e.g. LOADTEST_USERS=200,
LOADTEST_THINK_MS=0, LOADTEST_STRICT=1, LOADTEST_DIRECT=1)."""


def env_default(name: str, default):
    return type(default)(os.environ[name]) if os.environ.get(name) else default


def parse_args(argv: list[str] | None = None, description: str = "") -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="loadtest/run", description=description, epilog=SCENARIO_HELP)
    options = [
        # name, default, help
        ("scenario", "all", "what to run (below)"),
        (
            "duration",
            0,
            "seconds per measured run (wrk-mix and anon-mix 60, saturation 30, locust 120)",
        ),
        ("users", 500, "Locust users"),
        ("spawn-rate", 50.0, "Locust users started per second"),
        ("think", "1-3", "Locust think time between actions, seconds MIN-MAX"),
        ("think-ms", 250, "wrk page mixes: pause of each connection between requests"),
        ("connections", 500, "wrk connections"),
        ("wrk-threads", 2, "wrk threads"),
        ("port", 0, "port for gunicorn (default: a free one; the edge's are free ones)"),
        (
            "workers",
            os.cpu_count() or 1,
            "gunicorn workers (WEB_CONCURRENCY): one gevent worker "
            "per core, as measured best (RESULTS.md); 0 = gunicorn.conf.py's 2 x cores + 1",
        ),
        (
            "instances",
            1,
            "gunicorn instances, each with --workers workers on a port of its own, balanced "
            "by the edge (as two app hosts would be; with --direct only the first is loaded)",
        ),
        ("warmup", 5, "seconds of warm-up traffic before measuring"),
        ("events", 100_000, "events in the bulk seed (when the database is first seeded)"),
        ("members", 600, "load-test member accounts (one per logged-in Locust user)"),
        ("hosts", 30, "load-test host accounts"),
        ("seed", 1, "random seed for the requests sampled from the data"),
    ]
    for name, default, text in options:
        env_name = "LOADTEST_" + name.upper().replace("-", "_").replace("-", "_")
        extra = {"choices": SCENARIOS} if name == "scenario" else {}
        p.add_argument(
            f"--{name}",
            type=type(default),
            default=env_default(env_name, default),
            help=f"{text} [{default or 'auto'}]",
            **extra,
        )
    flags = [
        ("direct", "drive gunicorn directly, without the edge (as before it existed)"),
        ("strict", "exit 1 when a target is missed (bad data always exits 2)"),
        ("mail-after-load", "pause the Celery worker and beat during Locust, as if they ran "
         "on a host of their own; they send what queued once it ends (the check is the same)"),
    ]
    for name, text in flags:
        env_name = "LOADTEST_" + name.upper().replace("-", "_")
        default = os.environ.get(env_name, "") not in ("", "0")
        p.add_argument(f"--{name}", action="store_true", default=default, help=text)
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


def seconds(args, scenario: str) -> int:
    return args.duration or DEFAULT_SECONDS[scenario]


def run_heading(args, path: str = "") -> str:
    """For RESULTS.md: when, which code, on what, with how many workers, by which path, and
    the stack's settings taken from the environment (so A/B summaries say what differed)."""
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    workers = args.workers or "gunicorn.conf.py default"
    instances = f"{args.instances} gunicorn instances of " if args.instances > 1 else ""
    heading = (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit or '?'}, "
        f"{os.cpu_count()} cores, {memory_kb / 1024 / 1024:.0f} GB RAM, "
        f"{instances}{workers} gunicorn workers"
    )
    if path:
        heading += f"\n{path}"
    settings = edge.tunables(os.environ)
    if settings:
        heading += "\nfrom the environment: " + ", ".join(settings)
    return heading
