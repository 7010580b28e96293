"""The summary: one table of figures, the targets met or missed, written next to the raw output."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadtest.wrkrun import WrkResult


@dataclass
class Row:
    scenario: str
    endpoint: str
    requests: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    failures: int
    ratio: float | None = None  # req/s as a share of the baseline's under the same settings
    # gunicorn's CPU time (master and workers, user + system) per request: the cost of a
    # request, which unlike req/s and latency hardly depends on what else the box is doing
    cpu_ms: float | None = None
    edge_cpu_ms: float | None = None  # nginx's (master and workers), through the edge
    hit_share: float | None = None  # of the responses, those the edge served from its cache


@dataclass
class Check:
    target: str
    ok: bool
    measured: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    heading: str = ""  # what was measured where: date, commit, machine, workers

    def wrk(self, scenario: str, result: WrkResult, baseline: WrkResult | None = None) -> Row:
        ratio = result.rps / baseline.rps if baseline and baseline.rps else None
        row = Row(
            scenario,
            result.name,
            result.requests,
            result.rps,
            result.p50_ms,
            result.p95_ms,
            result.p99_ms,
            result.errors,
            ratio,
            result.cpu_ms,
            result.edge_cpu_ms,
            result.hit_share,
        )
        self.rows.append(row)
        return row

    def check(self, target: str, ok: bool, measured: str) -> None:
        self.checks.append(Check(target, ok, measured))

    @property
    def all_passed(self) -> bool:
        return all(check.ok for check in self.checks)

    def render(self) -> str:
        header = (
            "scenario",
            "endpoint",
            "requests",
            "req/s",
            "x base",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "failures",
            "HIT %",
            "nginx ms/req",
            "cpu ms/req",
        )
        table = [header] + [
            (
                r.scenario,
                r.endpoint,
                f"{r.requests:,}",
                f"{r.rps:,.1f}",
                _num(r.ratio, "{:.2f}"),
                _num(r.p50_ms),
                _num(r.p95_ms),
                _num(r.p99_ms),
                f"{r.failures:,}",
                _num(None if r.hit_share is None else 100 * r.hit_share, "{:.0f}"),
                _num(r.edge_cpu_ms, "{:.2f}"),
                _num(r.cpu_ms, "{:.2f}"),
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        lines = [self.heading, ""] if self.heading else []
        for n, line in enumerate(table):
            cells = [
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ]
            lines.append("  ".join(cells))
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.append("")
        lines.append("Targets:")
        for check in self.checks:
            lines.append(f"  {'PASS' if check.ok else 'FAIL'}  {check.target}: {check.measured}")
        if not self.checks:
            lines.append("  (none applied to the scenarios run)")
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)

    def write(self, out_dir: Path) -> None:
        (out_dir / "summary.txt").write_text(self.render() + "\n", encoding="utf-8")
        data = {
            "rows": [asdict(r) for r in self.rows],
            "checks": [asdict(c) for c in self.checks],
            "notes": self.notes,
        }
        (out_dir / "summary.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def _num(value: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def locust_rows(stats_csv: Path) -> list[Row]:
    """Rows of Locust's `<prefix>_stats.csv` (per endpoint, then "Aggregated")."""
    rows = []
    with stats_csv.open(newline="", encoding="utf-8") as file:
        for record in csv.DictReader(file):
            name = (
                record["Name"]
                if record["Type"] in ("", None)
                else (f"{record['Type']} {record['Name']}")
            )
            rows.append(
                Row(
                    "locust",
                    name,
                    int(record["Request Count"]),
                    float(record["Requests/s"]),
                    _float(record["50%"]),
                    _float(record["95%"]),
                    _float(record["99%"]),
                    int(record["Failure Count"]),
                )
            )
    return rows


def _float(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
