"""A real server process for tests that need real concurrency, and a tiny browser-like client."""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count: int, avoid: tuple[int, ...] = ()) -> list[int]:
    """`count` different free ports, none of `avoid`: each socket is held until all are picked
    (two free_port() calls in a row may return the same port)."""
    with ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            if (port := sock.getsockname()[1]) not in avoid:
                ports.append(port)
        return ports


@contextmanager
def gunicorn_server(
    instance_path: str, extra_env: dict | None = None, workers: int = 4
) -> Iterator[str]:
    """gunicorn serving wsgi:app with the test configuration; yields its base URL."""
    with gunicorn_process(instance_path, extra_env, workers) as process:
        yield process.base_url


@contextmanager
def gunicorn_process(
    instance_path: str, extra_env: dict | None = None, workers: int = 4
) -> Iterator[subprocess.Popen]:
    """As gunicorn_server, yielding the master process (its URL in `.base_url`)."""
    port = free_port()
    env = {
        **os.environ,
        "EVENTMATE_CONFIG": "test",
        "EVENTMATE_INSTANCE_PATH": instance_path,
        # gunicorn.conf.py monkey-patches for gevent; these servers use threads.
        "GUNICORN_WORKER_CLASS": "gthread",
        "GUNICORN_PRELOAD": "0",  # each worker loads the app (production_server preloads)
        "GUNICORN_ACCESS_LOG": "",
        # Its workers share one cache and one set of rate-limit counters, as in production.
        "TEST_KEY_PREFIX": f"em-test-{os.getpid()}-{port}",
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "gunicorn", "wsgi:app",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", "16",
        "--log-level", "warning",
    ]  # fmt: skip
    with _serving(command, env, port) as process:
        yield process


@contextmanager
def production_server(env: dict, workers: int = 2) -> Iterator[subprocess.Popen]:
    """`gunicorn -c gunicorn.conf.py wsgi:app` exactly as deployed (gevent workers); `env` is
    the deployment's environment. Yields the master process; its URL is in `.base_url`."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "GUNICORN_"))},
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_ACCESS_LOG": "",
        "GUNICORN_LOG_LEVEL": "warning",
        **env,
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    with _serving(command, env, port) as process:
        yield process


@contextmanager
def _serving(command: list[str], env: dict, port: int) -> Iterator[subprocess.Popen]:
    """Start gunicorn, wait for its health check, yield it (URL in `.base_url`), stop it."""
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    process.base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def worker_pids(master_pid: int) -> set[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return {int(pid) for pid in children}


def _wait_until_up(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/health/live/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise RuntimeError("gunicorn did not come up")


class Browser:
    """Cookies and CSRF tokens, one new connection per request (as separate clients are).
    An https base is verified against `cafile` (a test's own self-signed certificate)."""

    def __init__(self, base: str, headers: dict | None = None, cafile: str | None = None) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.tls = ssl.create_default_context(cafile=cafile) if parts.scheme == "https" else None
        self.cookies: dict[str, str] = {}
        self.headers = headers or {}  # sent with every request

    def connect(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=60, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method: str, path: str, form: dict | None = None, headers=None):
        connection = self.connect()
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            **self.headers,
            **(headers or {}),
        }
        if self.tls is not None:  # Flask-WTF checks, over HTTPS, that a form came from us
            headers.setdefault("Referer", f"https://{self.host}:{self.port}{path}")
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response.status, response.headers, text

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: dict, headers=None):
        return self.request("POST", path, form, headers)

    def hidden_fields(self, path: str) -> dict[str, str]:
        _, _, page = self.get(path)
        return dict(re.findall(r'name="([a-z_]+)" type="hidden" value="([^"]*)"', page))

    def log_in(self, email: str, password: str) -> None:
        token = self.hidden_fields("/login/")["csrf_token"]
        status, _, _ = self.post(
            "/login/", {"csrf_token": token, "email": email, "password": password}
        )
        assert status == 302, f"login failed for {email}: {status}"
