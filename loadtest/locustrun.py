"""Running Locust (loadtest/locustfile.py, headless) and reading its figures back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from loadtest.report import Row, locust_rows

ROOT = Path(__file__).resolve().parent.parent


def run(
    args, base_url: str, password: str, duration: int, out_dir: Path, ca_file: Path | None = None
) -> list[Row]:
    """Locust's rows (per endpoint, then "Aggregated"), the last with the share of its
    responses the edge served from its cache, when it went through the edge."""
    print(
        f"--> Locust: {args.users} users (spawn {args.spawn_rate:g}/s), think {args.think} s, "
        f"{duration} s",
        flush=True,
    )
    command = [
        str(ROOT / "loadtest" / ".venv" / "bin" / "locust"),
        "-f", "loadtest/locustfile.py",
        "--headless",
        "--users", str(args.users),
        "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{duration}s",
        "--host", base_url,
        "--csv", str(out_dir / "locust"),
        "--html", str(out_dir / "locust.html"),
        "--only-summary",
        "--stop-timeout", "10",
        "--exit-code-on-error", "0",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    counts = out_dir / "locust_cache.json"
    env = {
        **os.environ,
        "LOADTEST_DATA": str(out_dir / "data.json"),
        "LOADTEST_PASSWORD": password,
        "LOADTEST_MEMBERS": str(args.members - 1),  # the last one is wrk's
        "LOADTEST_HOSTS": str(args.hosts),
        "LOADTEST_THINK": args.think,
        "LOADTEST_CA": str(ca_file or ""),  # verify the edge's self-signed certificate
        "LOADTEST_CACHE_COUNTS": str(counts),
    }
    with (out_dir / "locust.log").open("w") as log:
        done = subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    stats = out_dir / "locust_stats.csv"
    if done.returncode != 0 or not stats.exists():
        raise RuntimeError(f"Locust failed (exit {done.returncode}); see {out_dir / 'locust.log'}")
    rows = locust_rows(stats)
    cache = json.loads(counts.read_text()) if counts.exists() else {}
    if rows and set(cache) - {"-"}:  # "-": no X-Cache-Status (direct, /health/, errors)
        rows[-1].hit_share = cache.get("HIT", 0) / sum(cache.values())
    if cache:
        print(f"    X-Cache-Status: {json.dumps(cache)}", flush=True)
    return rows
