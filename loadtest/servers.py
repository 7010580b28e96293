"""gunicorn under test: start it as deployed, wait for readiness, sample its memory, stop it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Memory:
    """Resident memory of gunicorn (master + workers, summed), sampled every `interval` s."""

    master_pid: int
    interval: float = 0.5
    peak_total_kb: int = 0
    peak_process_kb: int = 0
    peak_processes: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Memory:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        sizes = [rss_kb(pid) for pid in [self.master_pid, *children(self.master_pid)]]
        sizes = [size for size in sizes if size]
        if not sizes:
            return
        self.samples += 1
        self.peak_total_kb = max(self.peak_total_kb, sum(sizes))
        self.peak_process_kb = max(self.peak_process_kb, max(sizes))
        self.peak_processes = max(self.peak_processes, len(sizes))


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used by gunicorn so far: the master, its live workers, and the
    workers it has reaped (recycled ones), which the kernel adds to the master's own account."""
    total = 0
    for pid in [master_pid, *children(master_pid)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the ")": utime, stime, cutime, cstime are the 12th to 15th fields
        total += sum(int(value) for value in fields[11:13])
        if pid == master_pid:
            total += sum(int(value) for value in fields[13:15])
    return total / CLOCK_TICKS


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py <app>` in its own process group; a context manager."""

    def __init__(self, app: str, env: dict[str, str], port: int, log_path: Path) -> None:
        self.app, self.port, self.log_path = app, port, log_path
        self.env = {
            **env,
            "BIND": f"127.0.0.1:{port}",
            "GUNICORN_ACCESS_LOG": "",  # off: logging every request would be measured too
            "GUNICORN_LOG_LEVEL": env.get("GUNICORN_LOG_LEVEL", "warning"),
        }
        self.base_url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.memory: Memory | None = None

    def __enter__(self) -> Gunicorn:
        python = Path(self.env.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "python"
        command = [str(python), "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app]
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.memory = Memory(self.process.pid).start()
        _remember(self.process.pid)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_ready(self, path: str = "/health/ready/", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(self.base_url + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"gunicorn did not become ready in {timeout:.0f} s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def settle(self, timeout: float = 30, quick_ms: float = 100) -> float:
        """Wait until the previous run's backlog is worked off (wrk closes its connections, but
        requests already queued for a database connection still run): until /health/ready/,
        which needs a pooled connection too, answers quickly three times in a row. Seconds."""
        started = time.monotonic()
        quick = 0
        while quick < 3 and time.monotonic() - started < timeout:
            begin = time.monotonic()
            try:
                with urllib.request.urlopen(self.base_url + "/health/ready/", timeout=10):
                    pass
                fast = (time.monotonic() - begin) * 1000 < quick_ms
            except (OSError, urllib.error.URLError):
                fast = False
            quick = quick + 1 if fast else 0
            time.sleep(0.2)
        waited = time.monotonic() - started
        if waited > 2:
            print(
                f"    (waited {waited:.0f} s for the server to work off the last run)", flush=True
            )
        return waited

    def stop(self) -> None:
        if self.memory:
            self.memory.stop()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: workers finish their requests
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process:
            _forget(self.process.pid)
        if getattr(self, "_log", None):
            self._log.close()


def log_errors(path: Path, top: int = 3) -> list[str]:
    """The commonest ERROR/CRITICAL lines of a server log (numbers blanked so they group)."""
    counts: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = re.search(r"\b(ERROR|CRITICAL)\]? (.*)", line)
        if found:
            message = re.sub(r"\d+", "N", found[2].replace("[", "").replace("]", ""))
            counts[message[:90]] += 1
    return [f"{n:,} x {message}" for message, n in counts.most_common(top)]


# loadtest/run's EXIT trap stops the process groups listed here if this process can't (SIGKILL).
PIDFILE = os.environ.get("LOADTEST_PIDFILE")


def _remember(pid: int) -> None:
    if PIDFILE:
        with open(PIDFILE, "a") as file:
            file.write(f"{pid}\n")


def _forget(pid: int) -> None:
    if PIDFILE and os.path.exists(PIDFILE):
        kept = [line for line in Path(PIDFILE).read_text().split() if line != str(pid)]
        Path(PIDFILE).write_text("".join(f"{line}\n" for line in kept))
