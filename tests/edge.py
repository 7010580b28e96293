"""A real nginx edge for tests: deploy/nginx/render.py's configuration, on free ports, with a
self-signed certificate of the test's own, in front of a test gunicorn."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live import ROOT, free_ports

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Edge:
    https: str  # https://127.0.0.1:PORT
    http: str  # http://127.0.0.1:PORT
    purge_url: str  # what the app's EDGE_PURGE_URLS lists
    cert: str  # the certificate to verify https against
    directory: Path
    process: subprocess.Popen


def make_certificate(directory: Path) -> tuple[str, str]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


@contextmanager
def edge_server(
    upstream: str, static_root: str, media_root: str, purge_port: int, **settings: str
) -> Iterator[Edge]:
    """nginx from the rendered configuration, in front of `upstream` (host:port); `settings`
    are more of render.py's environment (EDGE_RATE="…", …)."""
    if not os.path.exists(NGINX):
        raise RuntimeError("nginx is missing: scripts/test installs it (ensure_nginx)")
    # Not pytest's tmp_path: nginx's workers (www-data) must be able to reach the files.
    directory = Path(tempfile.mkdtemp(prefix="eventmate-edge-"))
    directory.chmod(0o755)
    try:
        cert, key = make_certificate(directory)
        http_port, https_port = free_ports(2, avoid=(purge_port,))
        env = {
            **os.environ,
            "HTTP_PORT": str(http_port),
            "HTTPS_PORT": str(https_port),
            "TLS_CERT": cert,
            "TLS_KEY": key,
            "EDGE_UPSTREAMS": upstream,
            "EDGE_PURGE_LISTEN": f"127.0.0.1:{purge_port}",
            # The tests send each client's address in X-Forwarded-For, as a load balancer would.
            "TRUSTED_PROXIES": "127.0.0.1",
            "STATIC_ROOT": static_root,
            "MEDIA_ROOT": media_root,
            "EDGE_ACCESS_LOG": "off",
            "EDGE_WORKER_PROCESSES": "1",
            **settings,
        }
        out = directory / "edge"
        subprocess.run(
            [sys.executable, str(ROOT / "deploy" / "nginx" / "render.py"), "--out", str(out)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        config = str(out / "nginx.conf")
        process = subprocess.Popen([NGINX, "-c", config, "-g", "daemon off;"])
        try:
            _wait_for_port(https_port, process)
            yield Edge(
                f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}",
                f"http://127.0.0.1:{purge_port}", cert, out, process,
            )  # fmt: skip
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nginx did not come up")
