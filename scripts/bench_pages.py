"""Server-side time per page type on a bulk-seeded PostgreSQL database (a benchmark, not a test).

Usage: DATABASE_URL=postgresql://… .venv/bin/python scripts/bench_pages.py [--requests 200]
       [--seed 1] [--slowest N] [--profile search|detail|home]

Requests go through the Flask test client (no network, no server), so the time measured around
`client.get` is the app's own: routing, queries, rendering. Two figures per request: the wall
time, and this process's CPU time (time.process_time: Python's work, without PostgreSQL's or
Redis's), which is what a worker's capacity is spent on. Each page type gets a short warm-up
first; the search and event page URLs are drawn at random, so nearly all are page-cache
misses (first visits), as the targets are meant. The app is configured as behind the edge
(RATELIMIT_APPLICATION empty: nginx limits requests per IP) unless the environment says
otherwise. The home page is measured twice: with the
aggregate cache as configured and with AGGREGATE_CACHE_SECONDS=0, which runs its count
queries on every request (for information: the exit status is 1 only if a page as configured
misses its p95 target).
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import select

from eventmate import create_app
from eventmate.events.filters import WHEN_CHOICES
from eventmate.events.queries import upcoming_filter
from eventmate.extensions import cache, db
from eventmate.models import CATEGORIES, City, Event

TARGETS_MS = {"home": 20.0, "search": 30.0, "detail": 20.0}  # p95 wall time
CPU_TARGETS_MS = {"search": 3.0, "detail": 2.0}  # mean CPU time of a miss
# Shown for information; the exit status only counts the pages as configured.
UNCACHED_HOME = "home (uncached)"
WARMUP = 20
SORTS = ["date", "newest", "price", "relevance"]


@dataclass
class Sample:
    """What the requests are drawn from: real slugs, cities and title words."""

    upcoming: list[str]
    past: list[str]
    cities: list[str]
    words: list[str]


def load_sample(rng: random.Random, now: datetime) -> Sample:
    """Ordered reads, so the same --seed draws the same requests from the same data."""
    upcoming_query = select(Event.slug).where(upcoming_filter(now)).order_by(Event.id)
    upcoming = db.session.scalars(upcoming_query).all()
    past = db.session.scalars(
        select(Event.slug)
        .where(Event.is_active.is_(True), Event.starts_at < now)
        .order_by(Event.id)
    ).all()
    titles = db.session.scalars(select(Event.title).order_by(Event.id).limit(5_000)).all()
    words = sorted({word.lower() for title in titles for word in title.split() if len(word) > 2})
    cities = db.session.scalars(select(City.slug).order_by(City.id)).all()
    return Sample(
        rng.sample(upcoming, min(len(upcoming), 1_000)),
        rng.sample(past, min(len(past), 1_000)),
        list(cities),
        words,
    )


def search_url(rng: random.Random, sample: Sample, today: datetime) -> str:
    params: dict[str, str | int] = {}
    if rng.random() < 0.4:
        params["q"] = " ".join(rng.sample(sample.words, rng.choice([1, 1, 2])))
    if rng.random() < 0.3:
        params["category"] = rng.choice(CATEGORIES).slug
    if rng.random() < 0.3:
        params["city"] = rng.choice(sample.cities)
    dates = rng.random()
    if dates < 0.2:
        params["when"] = rng.choice(list(WHEN_CHOICES))
    elif dates < 0.35:
        start = today.date() + timedelta(days=rng.randint(0, 120))
        params["from"] = start.isoformat()
        params["to"] = (start + timedelta(days=rng.randint(0, 30))).isoformat()
    if rng.random() < 0.5:
        params["sort"] = rng.choice(SORTS if "q" in params else SORTS[:3])
    params["page"] = rng.randint(1, 5)
    return "/events/?" + urlencode(params)


def detail_url(rng: random.Random, sample: Sample) -> str:
    slug = rng.choice(sample.upcoming if rng.random() < 0.5 else sample.past)
    return f"/events/{slug}/" + ("?reviews=2" if rng.random() < 0.3 else "")


def make_urls(rng: random.Random, sample: Sample, count: int) -> dict[str, list[str]]:
    today = datetime.now(UTC)
    return {
        "home": ["/"] * count,
        "search": [search_url(rng, sample, today) for _ in range(count)],
        "detail": [detail_url(rng, sample) for _ in range(count)],
    }


@dataclass
class Timings:
    wall: list[float]  # milliseconds per request
    cpu: list[float]


def address(number: int, network: int = 0) -> str:
    """A client address per request, so rate limits stay out of the way."""
    return f"10.{network}.{number // 256 % 256}.{number % 256}"


def canonical(app: Flask, urls: list[str]) -> list[str]:
    """Each URL as the site spells it (other spellings are redirected there, not rendered)."""
    client = app.test_client()
    spelled = []
    for number, url in enumerate(urls):
        response = client.get(url, environ_base={"REMOTE_ADDR": address(number, 1)})
        spelled.append(response.location if response.status_code == 302 else url)
    return spelled


def timed_get(app: Flask, urls: list[str]) -> Timings:
    client = app.test_client()
    timings = Timings([], [])
    for number, url in enumerate(urls):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, environ_base={"REMOTE_ADDR": address(number)})
        timings.cpu.append((time.process_time() - cpu_started) * 1000)
        timings.wall.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} returned {response.status_code}")
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_page(app: Flask, urls: list[str], warmup: list[str]) -> Timings:
    with app.app_context():
        timed_get(app, warmup)
        return timed_get(app, urls)


def profile(app: Flask, urls: list[str], warmup: list[str]) -> None:
    profiler = cProfile.Profile()
    with app.app_context():
        timed_get(app, warmup)
        profiler.runcall(timed_get, app, urls)
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
    stats.print_stats(40)


def print_table(rows: list[tuple[str, str, Timings]]) -> None:
    print(
        f"{'page':<26} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  {'target p95':<16}"
        f"{'cpu ms':>7}  target cpu"
    )
    for label, kind, timings in rows:
        times = timings.wall
        p95 = percentile(times, 0.95)
        target = TARGETS_MS[kind]
        verdict = "PASS" if p95 < target else "FAIL"
        if label == UNCACHED_HOME:
            verdict += " (info)"
        cpu = sum(timings.cpu) / len(timings.cpu)
        cpu_target = CPU_TARGETS_MS.get(kind)
        cpu_verdict = ""
        if cpu_target:
            cpu_verdict = f"<= {cpu_target:.0f} ms {'PASS' if cpu <= cpu_target else 'FAIL'}"
        print(
            f"{label:<26} {len(times):>4} {percentile(times, 0.5):>8.1f} {p95:>8.1f} "
            f"{max(times):>8.1f}  < {target:.0f} ms {verdict:<10}{cpu:>7.2f}  {cpu_verdict}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per page type")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the request mix")
    parser.add_argument("--profile", choices=sorted(TARGETS_MS), help="cProfile one page type")
    parser.add_argument("--slowest", type=int, default=0, help="list the N slowest URLs per page")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    os.environ.setdefault("RATELIMIT_APPLICATION", "")
    app = create_app()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            print("bench_pages.py needs DATABASE_URL pointing at PostgreSQL.", file=sys.stderr)
            return 2
        sample = load_sample(rng, datetime.now(UTC))
        db.session.remove()
    urls = make_urls(rng, sample, args.requests)
    with app.app_context():
        urls = {kind: canonical(app, kind_urls) for kind, kind_urls in urls.items()}
        cache.clear()
    warmups = {kind: rng.sample(kind_urls, WARMUP) for kind, kind_urls in urls.items()}

    if args.profile:
        profile(app, urls[args.profile], warmups[args.profile])
        return 0

    cached_seconds = app.config["AGGREGATE_CACHE_SECONDS"]
    rows: list[tuple[str, str, Timings]] = []
    for label, kind, setting in (
        (f"home (cache {cached_seconds} s)", "home", cached_seconds),
        (UNCACHED_HOME, "home", 0),
        ("search", "search", cached_seconds),
        ("detail", "detail", cached_seconds),
    ):
        app.config["AGGREGATE_CACHE_SECONDS"] = setting
        with app.app_context():
            cache.clear()
        rows.append((label, kind, run_page(app, urls[kind], warmups[kind])))
    app.config["AGGREGATE_CACHE_SECONDS"] = cached_seconds
    print_table(rows)
    if args.slowest:
        for label, kind, timings in rows:
            print(f"\nslowest {label}:")
            slowest = sorted(zip(timings.wall, urls[kind], strict=True), reverse=True)
            for ms, url in slowest[: args.slowest]:
                print(f"  {ms:7.1f} ms  {url}")
    counted = [(kind, timings) for label, kind, timings in rows if label != UNCACHED_HOME]
    return 1 if any(percentile(t.wall, 0.95) >= TARGETS_MS[kind] for kind, t in counted) else 0


if __name__ == "__main__":
    sys.exit(main())
