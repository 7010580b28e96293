"""Servers under test (gunicorn here, nginx in loadtest/edge.py): start them as deployed, wait
for readiness, sample their memory and CPU time, stop them."""

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
class Peak:
    """The largest resident memory seen of one process tree (a server: master + workers)."""

    total_kb: int = 0
    process_kb: int = 0
    processes: int = 0

    def describe(self) -> str:
        return (
            f"{self.total_kb / 1024:,.0f} MiB over {self.processes} processes "
            f"(largest {self.process_kb / 1024:,.0f} MiB)"
        )


@dataclass
class Memory:
    """Resident memory of the servers under test, sampled every `interval` s: each one's process
    tree (master + workers, summed), and all of them together at the same instant, so the peak
    of the sum is a peak that happened, not a sum of peaks from different moments."""

    interval: float = 0.5
    peak_total_kb: int = 0
    samples: int = 0
    servers: dict[str, Peak] = field(default_factory=dict)
    _roots: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def watch(self, name: str, master_pid: int) -> Memory:
        """Sample this server too (its tree goes on counting once it has stopped: as 0)."""
        self.servers.setdefault(name, Peak())
        self._roots[name] = master_pid
        if self._thread is None:
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
        total = 0
        for name, root in list(self._roots.items()):
            sizes = [rss_kb(pid) for pid in [root, *children(root)]]
            sizes = [size for size in sizes if size]
            if not sizes:
                continue
            peak = self.servers[name]
            peak.total_kb = max(peak.total_kb, sum(sizes))
            peak.process_kb = max(peak.process_kb, max(sizes))
            peak.processes = max(peak.processes, len(sizes))
            total += sum(sizes)
        if total:
            self.samples += 1
            self.peak_total_kb = max(self.peak_total_kb, total)


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


class Server:
    """A server under test in its own process group (so the EXIT trap of loadtest/run can stop
    it and all its workers); a context manager. Its memory is sampled into `memory` (one of its
    own unless the caller shares one between servers), its CPU time read from /proc."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, log_path: Path, memory: Memory | None = None) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.memory = memory or Memory()
        self._own_memory = memory is None

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def __enter__(self):
        command, env = self.command()
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _remember(self.process.pid)
        self.memory.watch(self.name, self.process.pid)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_until(self, url: str, timeout: float = 60, context=None) -> None:
        """Until GET url answers 200 (raises if the server exits or takes longer)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2, context=context) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} did not answer in {timeout:.0f} s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._own_memory:
            self.memory.stop()
        if self.process:
            _forget(self.process.pid)
        if getattr(self, "_log", None):
            self._log.close()

    @property
    def peak(self) -> Peak:
        return self.memory.servers.get(self.name, Peak())


class Gunicorn(Server):
    """`gunicorn -c gunicorn.conf.py <app>`; SIGTERM is graceful: workers finish their requests."""

    name = "gunicorn"

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        port: int,
        log_path: Path,
        memory: Memory | None = None,
        name: str = "gunicorn",
    ) -> None:
        self.name = name  # its memory's label: one per instance when there are several
        super().__init__(log_path, memory)
        self.app, self.port = app, port
        self.env = {
            **env,
            "BIND": f"127.0.0.1:{port}",
            "GUNICORN_ACCESS_LOG": "",  # off: logging every request would be measured too
            "GUNICORN_LOG_LEVEL": env.get("GUNICORN_LOG_LEVEL", "warning"),
        }
        self.base_url = f"http://127.0.0.1:{port}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        python = Path(self.env.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "python"
        return [str(python), "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app], self.env

    def wait_ready(self, path: str = "/health/ready/", timeout: float = 60) -> None:
        self.wait_until(self.base_url + path, timeout)

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
