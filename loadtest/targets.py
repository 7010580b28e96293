"""The performance targets (issue 5), checked against one run's figures."""

from __future__ import annotations

from loadtest.report import Report, Row
from loadtest.wrkrun import WrkResult

# (1) wrk page mix: 500 connections, each pausing 250 ms between requests.
MIX_RPS, MIX_P95_MS, MIX_P99_MS = 1800, 50, 150
# (2) saturation (no pause): shares of the bare Flask baseline's req/s.
EVENT_RATIO, SEARCH_RATIO, SATURATION_P99_MS = 0.45, 0.15, 500
# (3) Locust journeys.
LOCUST_P95_MS = 100
# (4) memory: every gunicorn process together.
MEMORY_LIMIT_KB = 1024 * 1024


def evaluate(report: Report, wrk: dict[str, WrkResult], locust: list[Row]) -> None:
    """Add the table's rows (wrk first, then Locust) and a PASS/FAIL check per target."""
    _mix(report, wrk.get("mix"), wrk.get("base-mix"))
    _saturation(report, wrk)
    _locust(report, locust)


def _mix(report: Report, mix: WrkResult | None, base_mix: WrkResult | None) -> None:
    if mix:
        report.wrk("wrk-mix", mix, base_mix)
        report.check(f"(1) mix >= {MIX_RPS:,} req/s", mix.rps >= MIX_RPS, f"{mix.rps:,.0f}")
        report.check(
            f"(1) mix p95 <= {MIX_P95_MS} ms", mix.p95_ms <= MIX_P95_MS, f"{mix.p95_ms:.1f} ms"
        )
        report.check(
            f"(1) mix p99 <= {MIX_P99_MS} ms", mix.p99_ms <= MIX_P99_MS, f"{mix.p99_ms:.1f} ms"
        )
        report.check("(1) mix: 0 errors", mix.errors == 0, _errors(mix))
    if base_mix:
        report.wrk("wrk-mix", base_mix, base_mix)


def _saturation(report: Report, wrk: dict[str, WrkResult]) -> None:
    base = wrk.get("base")
    for key, share in (("event", EVENT_RATIO), ("search", SEARCH_RATIO)):
        result = wrk.get(key)
        if not result:
            continue
        row = report.wrk("saturation", result, base)
        if row.ratio is not None:
            report.check(
                f"(2) {result.name} >= {share} x baseline",
                row.ratio >= share,
                f"{row.ratio:.3f} ({result.rps:,.0f} / {base.rps:,.0f} req/s)",
            )
        report.check(f"(2) {result.name}: 0 errors", result.errors == 0, _errors(result))
        report.check(
            f"(2) {result.name} p99 <= {SATURATION_P99_MS} ms",
            result.p99_ms <= SATURATION_P99_MS,
            f"{result.p99_ms:.1f} ms",
        )
    if base:
        report.wrk("saturation", base, base)


def _locust(report: Report, rows: list[Row]) -> None:
    if not rows:
        return
    report.rows.extend(rows)
    endpoints = [row for row in rows if row.endpoint != "Aggregated"]
    total = next((row for row in rows if row.endpoint == "Aggregated"), None)
    failures = total.failures if total else sum(row.failures for row in endpoints)
    report.check("(3) Locust: 0 failures", failures == 0, f"{failures}")
    slow = [row for row in endpoints if row.p95_ms is None or row.p95_ms > LOCUST_P95_MS]
    worst = max(endpoints, key=lambda row: row.p95_ms or 0, default=None)
    measured = f"{len(slow)} of {len(endpoints)} over"
    if worst:
        measured += f"; slowest {worst.endpoint} at {worst.p95_ms:g} ms"
    report.check(f"(3) Locust p95 <= {LOCUST_P95_MS} ms on every endpoint", not slow, measured)


def memory(report: Report, peak_total_kb: int, peak_process_kb: int, processes: int) -> None:
    measured = (
        f"peak {peak_total_kb / 1024:,.0f} MiB summed over {processes} processes "
        f"(largest {peak_process_kb / 1024:,.0f} MiB)"
    )
    report.check(
        "(4) all gunicorn processes <= 1 GB RSS", peak_total_kb <= MEMORY_LIMIT_KB, measured
    )


def _errors(result: WrkResult) -> str:
    return f"{result.errors} ({result.socket_errors} socket, {result.bad_status} 4xx/5xx)"
