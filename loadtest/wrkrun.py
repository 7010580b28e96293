"""Running `wrk` with loadtest/wrk/pages.lua and reading its figures back."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "loadtest" / "wrk" / "pages.lua"
MARKER = "WRK_RESULT"


@dataclass
class WrkSettings:
    connections: int
    threads: int
    seconds: int
    think_ms: int = 0
    timeout_s: int = 10  # wrk drops the latency of a slower request: keep it high
    # Requests prepared per thread, each from a client IP of its own (pages.lua): enough that
    # no IP exceeds the edge's per-IP limit (100/minute, burst 30) at the rates reached.
    pool: int = 10_000

    def describe(self) -> str:
        pause = f", {self.think_ms} ms pause" if self.think_ms else ", no pause"
        return f"{self.connections} connections{pause}, {self.seconds} s"


@dataclass
class WrkResult:
    name: str
    settings: WrkSettings
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    bad_status: int
    cpu_ms: float | None = None  # gunicorn's CPU time per request (all processes), when known
    edge_cpu_ms: float | None = None  # nginx's (master and workers), through the edge
    # Responses by X-Cache-Status ("-": none) and the 429s and 5xx by status, when counted.
    cache: dict[str, int] = field(default_factory=dict)
    error_status: dict[str, int] = field(default_factory=dict)

    @property
    def hit_share(self) -> float | None:
        """Share of the responses the edge served from its cache (HIT), when counted through
        the edge ("-": a response without X-Cache-Status, e.g. nginx's own 429 page)."""
        if not set(self.cache) - {"-"}:
            return None
        return self.cache.get("HIT", 0) / sum(self.cache.values())

    @property
    def errors(self) -> int:
        """Socket errors (connect, read, write, timeout) plus responses other than 2xx/3xx."""
        return self.socket_errors + self.bad_status


def run(
    name: str,
    base_url: str,
    paths_file: Path,
    settings: WrkSettings,
    out_dir: Path,
    cookie: str = "",
    count_responses: bool = False,
) -> WrkResult:
    command = [
        "wrk", "-t", str(settings.threads), "-c", str(settings.connections),
        "-d", f"{settings.seconds}s", "--timeout", f"{settings.timeout_s}s", "--latency",
        "-s", str(SCRIPT), base_url,
    ]  # fmt: skip
    env = {
        **os.environ,
        "PATHS_FILE": str(paths_file),
        "THINK_MS": str(settings.think_ms),
        "REQUEST_POOL": str(settings.pool),
        "MEMBER_COOKIE": cookie,
        "RESULT_MARKER": MARKER,
        "COUNT_RESPONSES": "1" if count_responses else "",
    }
    print(f"--> wrk {name}: {settings.describe()}", flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    output = done.stdout + (("\n[stderr]\n" + done.stderr) if done.stderr else "")
    (out_dir / f"wrk-{name}.txt").write_text(output, encoding="utf-8")
    figures = next(
        (
            json.loads(line[len(MARKER) :])
            for line in done.stdout.splitlines()
            if line.startswith(MARKER + " ")
        ),
        None,
    )
    if done.returncode != 0 or figures is None:
        raise RuntimeError(f"wrk {name} failed (exit {done.returncode}): {output[-2000:]}")
    socket_errors = sum(
        figures[key] for key in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    result = WrkResult(
        name=name,
        settings=settings,
        requests=figures["requests"],
        rps=figures["rps"],
        p50_ms=figures["p50_ms"],
        p95_ms=figures["p95_ms"],
        p99_ms=figures["p99_ms"],
        max_ms=figures["max_ms"],
        socket_errors=socket_errors,
        bad_status=figures["bad_status"],
        cache=figures["cache"],
        error_status=figures["error_status"],
    )
    print(f"    {describe(result)}", flush=True)
    return result


def describe(result: WrkResult) -> str:
    line = (
        f"{result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, errors {result.errors}"
    )
    if result.error_status:
        statuses = sorted(result.error_status.items())
        line += " (" + ", ".join(f"{n:,} x {status}" for status, n in statuses) + ")"
    if result.cache and set(result.cache) != {"-"}:
        line += "; X-Cache-Status " + cache_mix(result.cache)
    return line


def cache_mix(cache: dict[str, int]) -> str:
    """The edge's answers, commonest first: "HIT 71%, MISS 20%, BYPASS 9%"."""
    total = sum(cache.values()) or 1
    return ", ".join(
        f"{name} {100 * n / total:.0f}%" for name, n in sorted(cache.items(), key=lambda i: -i[1])
    )
