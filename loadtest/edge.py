"""The edge under test: nginx rendered from deploy/nginx (as scripts/serve runs it) in front of
the load test's gunicorn, on free ports, with a self-signed certificate."""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from loadtest.servers import ROOT, Memory, Server, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin is not on every user's PATH
RENDER = ROOT / "deploy" / "nginx" / "render.py"
TLS_DIR = ROOT / "loadtest" / "reports" / "tls"  # git-ignored, shared by runs
# render.py's defaults, for the report's heading (the rendered config is what counts).
EDGE_DEFAULTS = {
    "EDGE_RATE": "100r/m",
    "EDGE_BURST": "30",
    "EDGE_UPSTREAM_KEEPALIVE": "0",
    "EDGE_WORKER_PROCESSES": "auto",
}
# Settings of the stack a caller may change for an A/B run (they pass through to nginx and
# gunicorn); the report's heading lists those set, so two summaries say what differed.
TUNABLE = re.compile(r"^(EDGE_|GUNICORN_|DB_|REDIS_MAX|RATELIMIT_APPLICATION$)")
# Set by the load test itself, whatever the caller's environment says.
OWN = {"EDGE_UPSTREAMS", "EDGE_PURGE_LISTEN", "EDGE_PURGE_URLS"}


def certificate(directory: Path = TLS_DIR) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made once (again when it is about
    to expire) with openssl, as scripts/serve makes one. Clients verify against it."""
    cert, key = directory / "localhost.crt", directory / "localhost.key"
    check = ["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(cert)]
    if key.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        return cert, key
    print(f"==> Making a self-signed certificate for 127.0.0.1 in {directory}", flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "365", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


def client_context(cert: Path) -> ssl.SSLContext:
    """For the runner's own requests to the edge: verified against our certificate."""
    return ssl.create_default_context(cafile=str(cert))


@dataclass
class Ports:
    http: int
    https: int
    purge: int

    @classmethod
    def free(cls) -> Ports:
        ports: list[int] = []
        while len(ports) < 3:
            port = free_port()
            if port not in ports:
                ports.append(port)
        return cls(*ports)


class Edge(Server):
    """`nginx -c <report>/edge/nginx.conf -g 'daemon off;'` in front of the gunicorn instances
    at 127.0.0.1:<upstream port>, balancing across them. Everything nginx writes (config, error
    log, page cache) is under <report>/edge; the cache is deleted when it stops (it only
    mattered while running)."""

    name = "nginx"
    stop_signal = signal.SIGTERM  # fast shutdown: the load is over, nothing is in flight

    def __init__(
        self,
        env: dict[str, str],
        ports: Ports,
        upstream_ports: list[int],
        out_dir: Path,
        memory: Memory | None = None,
    ) -> None:
        self.directory = (out_dir / "edge").resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        super().__init__(self.directory / "nginx.log", memory)
        self.cert, key = certificate()
        self.ports = ports
        self.env = {
            **env,
            "HTTP_PORT": str(ports.http),
            "HTTPS_PORT": str(ports.https),
            "EDGE_PURGE_LISTEN": f"127.0.0.1:{ports.purge}",
            "TLS_CERT": str(self.cert),
            "TLS_KEY": str(key),
            "EDGE_UPSTREAMS": ",".join(f"127.0.0.1:{port}" for port in upstream_ports),
            # The load generators send one client IP per request (wrk) or user (Locust) in
            # X-Forwarded-For, as a load balancer in front would: the limits apply per client.
            "TRUSTED_PROXIES": "127.0.0.1",
            # Off unless asked for: writing every request would be measured too.
            "EDGE_ACCESS_LOG": env.get("EDGE_ACCESS_LOG") or "off",
        }
        self.base_url = f"https://127.0.0.1:{ports.https}"
        self.config = self.render()

    def render(self) -> Path:
        """deploy/nginx/render.py into <report>/edge, checked with `nginx -t`."""
        python = str(ROOT / ".venv" / "bin" / "python")
        command = [python, str(RENDER), "--out", str(self.directory)]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"deploy/nginx/render.py failed: {done.stderr.strip()}")
        for line in done.stderr.splitlines():  # warnings (e.g. a directory www-data can't read)
            print(f"!!  {line}", flush=True)
        config = self.directory / "nginx.conf"
        test = subprocess.run([NGINX, "-t", "-q", "-c", str(config)], capture_output=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t: {test.stderr.decode(errors='replace').strip()}")
        return config

    def command(self) -> tuple[list[str], dict[str, str]]:
        return [NGINX, "-c", str(self.config), "-g", "daemon off;"], self.env

    def wait_ready(self, timeout: float = 30) -> None:
        """Through TLS, the edge and the app: /health/ready/ (never rate limited or cached)."""
        url = self.base_url + "/health/ready/"
        self.wait_until(url, timeout, context=client_context(self.cert))

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.directory / "cache", ignore_errors=True)


def describe(env: dict[str, str]) -> str:
    """What the report's heading says about the edge: its limits and pooling, as configured."""
    value = {name: env.get(name) or default for name, default in EDGE_DEFAULTS.items()}
    production = all(value[name] == EDGE_DEFAULTS[name] for name in ("EDGE_RATE", "EDGE_BURST"))
    limit = f"per-IP limit {value['EDGE_RATE']} burst {value['EDGE_BURST']}"
    limit += " (production's)" if production else " (NOT production's: set in the environment)"
    return (
        f"through the edge: {version()} with TLS, {limit}, upstream keepalive "
        f"{value['EDGE_UPSTREAM_KEEPALIVE']}, worker_processes {value['EDGE_WORKER_PROCESSES']}"
    )


def version() -> str:
    done = subprocess.run([NGINX, "-v"], capture_output=True, text=True)
    return done.stderr.strip().removeprefix("nginx version: ") or "?"


def tunables(env: dict[str, str] | os._Environ) -> list[str]:
    """The caller's settings of the stack (EDGE_UPSTREAM_KEEPALIVE=16, ...), for the heading."""
    return sorted(
        f"{name}={value}" for name, value in env.items() if TUNABLE.match(name) and name not in OWN
    )


def log_problems(path: Path, top: int = 4) -> list[str]:
    """The commonest warnings and errors in nginx's error.log (a 429 is logged as "limiting
    requests", a 502 as "connect() failed" or "upstream prematurely closed"), numbers blanked
    so they group, without the per-request details (client, request, host)."""
    if not path.exists():
        return []
    counts: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = re.search(r"\[(warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?(.*)", line)
        if found:
            message = found[2].split(", client:")[0].split(" while ")[0]
            counts[f"[{found[1]}] " + re.sub(r"\d+(\.\d+)?", "N", message)[:90]] += 1
    return [f"{n:,} x {message}" for message, n in counts.most_common(top)]
