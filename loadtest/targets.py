"""The performance targets, checked against one run's figures (through the edge by default)."""

from __future__ import annotations

from loadtest.report import Report, Row
from loadtest.servers import Memory
from loadtest.wrkrun import WrkResult

# (1) wrk page mix (a quarter signed in): 500 connections, each pausing 250 ms between requests.
MIX_RPS, MIX_P99_MS = 1700, 500
# (2) anon-mix: the same pacing, anonymous event pages and searches (mostly the edge's cache).
ANON_P99_MS = 150
# (3) saturation (no pause): anonymous event pages, as a multiple of the bare Flask baseline's
# req/s (gunicorn directly: the edge's cache serves these without the app). The member
# searches (never cached) are shown with their ratio, without a target.
EVENT_RATIO = 2.0
# (4) Locust journeys: p95 on every endpoint, but logging in (an Argon2id hash) has its own.
LOCUST_P95_MS = 150
LOCUST_P95_EXCEPTIONS_MS = {"POST /login/": 600}
# (5) memory: every gunicorn and nginx process together.
MEMORY_LIMIT_KB = 1024 * 1024


def evaluate(report: Report, wrk: dict[str, WrkResult], locust: list[Row]) -> None:
    """Add the table's rows (wrk first, then Locust) and a PASS/FAIL check per target."""
    _paced(report, wrk)
    _saturation(report, wrk)
    _locust(report, locust)


def _paced(report: Report, wrk: dict[str, WrkResult]) -> None:
    base = wrk.get("base-mix")
    mix, anon = wrk.get("mix"), wrk.get("anon")
    if mix:
        report.wrk("wrk-mix", mix, base)
        report.check(f"(1) mix >= {MIX_RPS:,} req/s", mix.rps >= MIX_RPS, f"{mix.rps:,.0f}")
        report.check(
            f"(1) mix p99 <= {MIX_P99_MS} ms", mix.p99_ms <= MIX_P99_MS, f"{mix.p99_ms:.1f} ms"
        )
        report.check("(1) mix: 0 errors", mix.errors == 0, _errors(mix))
    if anon:
        report.wrk("anon-mix", anon, base)
        report.check(
            f"(2) anon-mix p99 <= {ANON_P99_MS} ms",
            anon.p99_ms <= ANON_P99_MS,
            f"{anon.p99_ms:.1f} ms",
        )
        report.check("(2) anon-mix: 0 errors", anon.errors == 0, _errors(anon))
    if base:
        report.wrk("paced", base, base)


def _saturation(report: Report, wrk: dict[str, WrkResult]) -> None:
    base, event, search = wrk.get("base"), wrk.get("event"), wrk.get("search")
    if event:
        row = report.wrk("saturation", event, base)
        if row.ratio is not None:
            report.check(
                f"(3) {event.name} >= {EVENT_RATIO} x baseline",
                row.ratio >= EVENT_RATIO,
                f"{row.ratio:.2f} ({event.rps:,.0f} / {base.rps:,.0f} req/s)",
            )
        report.check(f"(3) {event.name}: 0 errors", event.errors == 0, _errors(event))
    if search:  # information only: its ratio and errors are in the table
        report.wrk("saturation", search, base)
    if base:
        report.wrk("saturation", base, base)


def _locust(report: Report, rows: list[Row]) -> None:
    if not rows:
        return
    report.rows.extend(rows)
    endpoints = [row for row in rows if row.endpoint != "Aggregated"]
    total = next((row for row in rows if row.endpoint == "Aggregated"), None)
    failures = total.failures if total else sum(row.failures for row in endpoints)
    report.check("(4) Locust: 0 failures", failures == 0, f"{failures}")
    slow = [row for row in endpoints if row.p95_ms is None or row.p95_ms > _p95_limit(row)]
    measured = f"{len(slow)} of {len(endpoints)} over"
    if slow:
        measured += ": " + ", ".join(
            f"{row.endpoint} {_ms(row.p95_ms)} (<= {_p95_limit(row)})" for row in slow
        )
    exceptions = ", ".join(f"{name} <= {ms}" for name, ms in LOCUST_P95_EXCEPTIONS_MS.items())
    report.check(
        f"(4) Locust p95 <= {LOCUST_P95_MS} ms on every endpoint ({exceptions})", not slow, measured
    )


def _p95_limit(row: Row) -> int:
    return LOCUST_P95_EXCEPTIONS_MS.get(row.endpoint, LOCUST_P95_MS)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


def memory(report: Report, measured: Memory) -> None:
    """gunicorn and nginx sampled at the same instants: the peak of their sum."""
    parts = "; ".join(f"{name} {peak.describe()}" for name, peak in measured.servers.items())
    names = " and ".join(measured.servers) or "servers"
    report.check(
        f"(5) all {names} processes together <= 1 GB RSS",
        measured.peak_total_kb <= MEMORY_LIMIT_KB,
        f"peak {measured.peak_total_kb / 1024:,.0f} MiB ({parts})",
    )


def _errors(result: WrkResult) -> str:
    text = f"{result.errors} ({result.socket_errors} socket, {result.bad_status} 4xx/5xx"
    if result.error_status:
        text += "; " + ", ".join(f"{n} x {s}" for s, n in sorted(result.error_status.items()))
    return text + ")"
