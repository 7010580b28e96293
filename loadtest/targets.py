"""The performance targets, checked against one run's figures (through the edge by default)."""

from __future__ import annotations

from loadtest.report import Report, Row
from loadtest.servers import Memory
from loadtest.wrkrun import WrkResult

# (1) wrk page mix (a quarter signed in): 500 connections, each pausing 250 ms between requests.
MIX_RPS, MIX_P95_MS, MIX_P99_MS = 1900, 50, 150
# (2) anon-mix: the same pacing, anonymous event pages and searches (mostly the edge's cache).
ANON_P99_MS = 150
# (3) saturation (no pause): anonymous event pages, as a multiple of the bare Flask baseline's
# req/s (gunicorn directly: the edge's cache serves these without the app). Members' searches,
# each a different filter set (page-cache misses), at runner.SEARCH_CONNECTIONS connections.
EVENT_RATIO = 2.0
SEARCH_RATIO, SEARCH_P99_MS = 0.12, 300
# (4) Locust journeys: the p95 of all requests together.
LOCUST_P95_MS = 80
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
            f"(1) mix p95 <= {MIX_P95_MS} ms", mix.p95_ms <= MIX_P95_MS, f"{mix.p95_ms:.1f} ms"
        )
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
        _ratio_and_errors(report, event, base, EVENT_RATIO)
    if search:
        _ratio_and_errors(report, search, base, SEARCH_RATIO)
        report.check(
            f"(3) {search.name} p99 <= {SEARCH_P99_MS} ms",
            search.p99_ms <= SEARCH_P99_MS,
            f"{search.p99_ms:.1f} ms",
        )
    if base:
        report.wrk("saturation", base, base)


def _ratio_and_errors(
    report: Report, result: WrkResult, base: WrkResult | None, target: float
) -> None:
    row = report.wrk("saturation", result, base)
    if row.ratio is not None:
        report.check(
            f"(3) {result.name} >= {target} x baseline",
            row.ratio >= target,
            f"{row.ratio:.3f} ({result.rps:,.0f} / {base.rps:,.0f} req/s)",
        )
    report.check(f"(3) {result.name}: 0 errors", result.errors == 0, _errors(result))


def _locust(report: Report, rows: list[Row]) -> None:
    if not rows:
        return
    report.rows.extend(rows)
    endpoints = [row for row in rows if row.endpoint != "Aggregated"]
    total = next((row for row in rows if row.endpoint == "Aggregated"), None)
    failures = total.failures if total else sum(row.failures for row in endpoints)
    report.check("(4) Locust: 0 failures", failures == 0, f"{failures}")
    p95 = total.p95_ms if total else None
    slowest = sorted(
        (row for row in endpoints if row.p95_ms is not None), key=lambda row: -row.p95_ms
    )[:3]
    detail = ", ".join(f"{row.endpoint} {_ms(row.p95_ms)}" for row in slowest)
    report.check(
        f"(4) Locust aggregate p95 <= {LOCUST_P95_MS} ms",
        p95 is not None and p95 <= LOCUST_P95_MS,
        f"{_ms(p95)} (slowest endpoints: {detail})",
    )


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
