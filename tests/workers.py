"""A real Celery worker (with beat) for tests, in a process group of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.live import ROOT


def worker_command(instance_path: str, concurrency: int = 2, beat: bool = True) -> list[str]:
    command = [
        sys.executable, "-m", "celery", "-A", "wsgi:celery", "worker",
        "--loglevel=WARNING", f"--concurrency={concurrency}",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", os.path.join(instance_path, "beat-schedule")]
    return command


@contextmanager
def celery_worker(instance_path: str, env: dict, **options) -> Iterator[subprocess.Popen]:
    """`celery -A wsgi:celery worker --beat` with the test configuration and `env` (the same
    TEST_* settings as the server whose tasks it runs). Stopped (or killed) at the end."""
    full_env = {
        **os.environ,
        "EVENTMATE_CONFIG": "test",
        "EVENTMATE_INSTANCE_PATH": instance_path,
        **env,
    }
    process = subprocess.Popen(
        worker_command(instance_path, **options), cwd=ROOT, env=full_env, start_new_session=True
    )
    try:
        yield process
    finally:
        stop(process)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the worker and its pool's children at once: no chance to clean up."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def stop(process: subprocess.Popen) -> None:
    """A warm shutdown: the main process lets running tasks finish (SIGTERM to the whole group
    would kill the pool's children mid-task)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill(process)
