"""scripts/lib.sh for a user who isn't root: sudo where root is needed, and psql never stops to
ask for a password. Commands it would run are stand-ins on PATH that record their arguments."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shim(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


def run_lib(tmp_path: Path, call: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`call` after sourcing lib.sh, as uid 1000 ("dev") with a recording sudo."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    record = f'echo "$(basename "$0") $*" >> {log}'
    shim(bin_dir, "id", 'case "$1" in -u) echo 1000;; -un) echo dev;; esac')
    # sudo runs nothing here; it only says what it was asked to run.
    shim(bin_dir, "sudo", record)
    shim(bin_dir, "apt-get", record)
    # psql: asks for a password (fails) unless -w; the socket works once the role exists.
    shim(bin_dir, "psql", f"""{record}
[[ " $* " == *" -w "* ]] || {{ echo "Password for user dev:" >&2; exit 2; }}
[[ "$*" == *"-h 127.0.0.1"* ]] && exit 2
grep -q "createuser --superuser dev" {log} && exit 0 || exit 2""")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    script = f"source scripts/lib.sh; {call}"
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_debian_packages_are_installed_through_sudo_with_their_environment(tmp_path):
    result, calls = run_lib(tmp_path, "apt_install nginx")
    assert result.returncode == 0, result.stderr
    assert "sudo apt-get update -qq" in calls
    # sudo resets the environment: the variable must reach apt-get through env.
    assert "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx" in calls


def test_a_user_with_sudo_gets_a_postgres_role_and_psql_never_prompts(tmp_path):
    result, calls = run_lib(tmp_path, "pg_admin_url")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgresql://dev@/?host=/var/run/postgresql"
    assert "sudo -n -u postgres createuser --superuser dev" in calls
    psql_calls = [call for call in calls if call.startswith("psql ")]
    assert psql_calls
    assert all(" -w " in f" {call} " for call in psql_calls)


def test_every_psql_in_the_scripts_says_never_prompt():
    for path in [*(ROOT / "scripts").iterdir(), ROOT / ".ci" / "run", ROOT / "loadtest" / "run"]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for found in re.finditer(r"\bpsql\b(?!_)", code):
                assert code[found.end() :].startswith(" -w"), f"{path.name}:{number}: {line}"
