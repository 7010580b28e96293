"""loadtest/targets.py judges a run's figures against issue 14's targets."""

from __future__ import annotations

from loadtest import targets
from loadtest.report import Report, Row
from loadtest.wrkrun import WrkResult, WrkSettings


def wrk(name: str, rps: float, p95: float, p99: float, bad: int = 0) -> WrkResult:
    return WrkResult(
        name=name, settings=WrkSettings(500, 2, 30), requests=int(rps * 30), rps=rps,
        p50_ms=1.0, p95_ms=p95, p99_ms=p99, max_ms=p99, socket_errors=0, bad_status=bad,
        cpu_ms=None, edge_cpu_ms=None, cache={}, error_status={},
    )  # fmt: skip


def verdicts(**results) -> dict[str, bool]:
    report = Report()
    locust = results.pop("locust", [])
    targets.evaluate(report, results, locust)
    return {check.target: check.ok for check in report.checks}


def locust_total(p95: float, failures: int = 0) -> Row:
    return Row("locust", "Aggregated", 30_000, 250.0, 9.0, p95, p95 * 2, failures)


def test_runs_that_meet_the_targets_pass():
    checks = verdicts(
        mix=wrk("mix", 1_950, 40, 140), base=wrk("baseline", 5_000, 5, 9),
        event=wrk("event-page", 11_000, 30, 90), search=wrk("search-member", 650, 200, 290),
        locust=[locust_total(75)],
    )  # fmt: skip
    assert len(checks) == 11  # (1) 4, (3) 5, (4) 2
    assert all(checks.values()), checks


def test_each_missed_target_fails_on_its_own():
    checks = verdicts(
        mix=wrk("mix", 1_950, 60, 140), base=wrk("baseline", 5_000, 5, 9),
        event=wrk("event-page", 11_000, 30, 90), search=wrk("search-member", 550, 200, 310),
        locust=[locust_total(81, failures=1)],
    )  # fmt: skip
    failed = {target for target, ok in checks.items() if not ok}
    assert failed == {
        "(1) mix p95 <= 50 ms",
        "(3) search-member >= 0.12 x baseline",
        "(3) search-member p99 <= 300 ms",
        "(4) Locust: 0 failures",
        "(4) Locust aggregate p95 <= 80 ms",
    }
