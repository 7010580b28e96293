"""Render the nginx edge for EventMate (nginx.conf.j2) into one self-contained directory.

    .venv/bin/python deploy/nginx/render.py --out instance/edge
    nginx -c "$PWD/instance/edge/nginx.conf" -g 'daemon off;'

DIR gets nginx.conf, the security-header snippets, the error pages (errors/error.html.j2, in the
app's words from eventmate/errors.py) and an ffdhe2048 dhparam; pid, logs, temp files and the
page cache live there too. The upload limit and the security headers come from the app itself
(config.py, eventmate/security), so the edge can't drift from it.

Environment [default]: HTTP_PORT [8080], HTTPS_PORT [8443], TLS_CERT and TLS_KEY (required),
EDGE_UPSTREAMS [127.0.0.1:8000] (host:port,...), TRUSTED_PROXIES [] (addresses or CIDRs),
EDGE_PURGE_LISTEN [127.0.0.1:8089], EDGE_PURGE_ALLOW [127.0.0.1,::1] (addresses or CIDRs of
the hosts whose app and workers purge this edge), EDGE_RATE [100r/m], EDGE_BURST [30],
EDGE_UPSTREAM_KEEPALIVE [0: none], EDGE_CACHE_SIZE [1g], EDGE_ACCESS_LOG [DIR/access.log;
off], EDGE_WORKER_PROCESSES [auto], STATIC_ROOT [eventmate/static], MEDIA_ROOT
[$EVENTMATE_INSTANCE_PATH/media or instance/media], GUNICORN_KEEPALIVE [5] (upstream idle
timeout is a second less), NGINX_MODULES_DIR [/usr/lib/nginx/modules]. A bad value ends the
script with a one-line error (exit status 2).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import pwd
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from config import Config  # noqa: E402  (the repo root is only on sys.path from here on)
from eventmate.errors import MESSAGES  # noqa: E402
from eventmate.security import ONE_YEAR, PERMISSIONS_POLICY  # noqa: E402

WORKER_USER = "www-data"  # Debian's web server account: workers drop to it when run as root
CACHE_PURGE_MODULE = "ngx_http_cache_purge_module.so"
BROTLI_STATIC_MODULE = "ngx_http_brotli_static_module.so"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

# Pages nginx answers itself. Titles and texts are the app's (eventmate/errors.py), except 502
# and 504, which the app never sends: for a visitor they mean what the app's 503 means.
UNAVAILABLE = ("Temporarily unavailable", MESSAGES[503][1])
ERROR_PAGES: dict[int, tuple[str, str]] = {
    404: MESSAGES[404],
    413: (MESSAGES[413][0], "That upload is too large: images can be up to 5 MB each."),
    429: MESSAGES[429],
    502: UNAVAILABLE,
    503: MESSAGES[503],
    504: UNAVAILABLE,
}
# Seconds a client should wait before trying again (429: the limit refills within a minute).
RETRY_AFTER = {429: 60, 503: 30}
# The error pages use nothing but the site's stylesheet and favicon.
ERROR_PAGE_CSP = (
    "default-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*$")


class EdgeConfigError(Exception):
    """A setting that can't make a working nginx configuration."""


def port(name: str, value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise EdgeConfigError(f"{name}={value!r}: expected a port number (1-65535)")
    return int(value)


def count(name: str, value: str, minimum: int = 0) -> int:
    if not value.isdigit() or int(value) < minimum:
        raise EdgeConfigError(f"{name}={value!r}: expected a whole number >= {minimum}")
    return int(value)


def host_port(name: str, value: str, ip_only: bool = False) -> str:
    """`127.0.0.1:8000`, `[::1]:8000` or (unless ip_only) `app1.internal:8000`, normalised."""
    match = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", value.strip())
    if not match:
        raise EdgeConfigError(f"{name}={value!r}: expected host:port (IPv6 as [addr]:port)")
    host = match.group(1) or match.group(3)
    number = port(name, match.group(2) or match.group(4))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if ip_only or not HOSTNAME.match(host):
            kind = "an IP address" if ip_only else "an IP address or host name"
            raise EdgeConfigError(f"{name}={value!r}: {host!r} is not {kind}") from None
        return f"{host}:{number}"
    return f"[{address}]:{number}" if address.version == 6 else f"{address}:{number}"


def networks(name: str, value: str) -> list[str]:
    try:
        return [str(ipaddress.ip_network(part.strip(), strict=False))
                for part in value.split(",") if part.strip()]  # fmt: skip
    except ValueError as error:
        raise EdgeConfigError(f"{name}={value!r}: {error}") from None


def matching(name: str, value: str, pattern: str, expected: str) -> str:
    if not re.fullmatch(pattern, value) or not re.search(r"[1-9]", value):
        raise EdgeConfigError(f"{name}={value!r}: expected {expected}")
    return value


def safe_path(name: str, value: str) -> str:
    """An absolute path nginx can take in double quotes (no `$`: alias would expand it)."""
    if not value or re.search(r'["$\\\x00-\x1f]', value):
        raise EdgeConfigError(f"{name}={value!r}: expected a path without quotes, $ or \\")
    return str(Path(value).resolve())


def existing_file(name: str, value: str) -> str:
    path = safe_path(name, value)
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise EdgeConfigError(f"{name}={value!r}: no such readable file")
    return path


def settings(env: Mapping[str, str], out: Path) -> dict[str, Any]:
    """Everything the template needs, from the environment, checked."""
    instance = env.get("EVENTMATE_INSTANCE_PATH") or str(REPO / "instance")
    http_port = port("HTTP_PORT", env.get("HTTP_PORT", "8080"))
    https_port = port("HTTPS_PORT", env.get("HTTPS_PORT", "8443"))
    purge_listen = host_port(
        "EDGE_PURGE_LISTEN", env.get("EDGE_PURGE_LISTEN", "127.0.0.1:8089"), ip_only=True
    )
    purge_port = int(purge_listen.rsplit(":", 1)[1])
    if len({http_port, https_port, purge_port}) < 3:
        raise EdgeConfigError("HTTP_PORT, HTTPS_PORT and EDGE_PURGE_LISTEN need different ports")
    if not env.get("TLS_CERT") or not env.get("TLS_KEY"):
        raise EdgeConfigError("TLS_CERT and TLS_KEY must name a certificate and its key")
    upstreams = [host_port("EDGE_UPSTREAMS", part)
                 for part in env.get("EDGE_UPSTREAMS", "127.0.0.1:8000").split(",")
                 if part.strip()]  # fmt: skip
    if not upstreams:
        raise EdgeConfigError("EDGE_UPSTREAMS: expected at least one host:port")
    static_root = safe_path("STATIC_ROOT", env.get("STATIC_ROOT", str(REPO / "eventmate/static")))
    if not os.path.isdir(static_root):
        raise EdgeConfigError(f"STATIC_ROOT={static_root!r}: no such directory")
    access_log = env.get("EDGE_ACCESS_LOG", str(out / "access.log"))
    gunicorn_keepalive = env.get("GUNICORN_KEEPALIVE", "5")  # gunicorn.conf.py's default
    workers = env.get("EDGE_WORKER_PROCESSES", "auto")
    if workers != "auto":
        count("EDGE_WORKER_PROCESSES", workers, minimum=1)
    return {
        "out": str(out),
        "http_port": http_port,
        "https_port": https_port,
        "https_port_suffix": "" if https_port == 443 else f":{https_port}",
        "ipv6": ipv6_available(),
        "tls_cert": existing_file("TLS_CERT", env["TLS_CERT"]),
        "tls_key": existing_file("TLS_KEY", env["TLS_KEY"]),
        "upstreams": upstreams,
        "trusted_proxies": networks("TRUSTED_PROXIES", env.get("TRUSTED_PROXIES", "")),
        "purge_listen": purge_listen,
        "purge_allow": networks("EDGE_PURGE_ALLOW", env.get("EDGE_PURGE_ALLOW", "127.0.0.1,::1")),
        "rate": matching("EDGE_RATE", env.get("EDGE_RATE", "100r/m"), r"\d+r/[sm]", "e.g. 100r/m"),
        "burst": count("EDGE_BURST", env.get("EDGE_BURST", "30")),
        # Off by default: an idle pooled connection holds one of a gevent worker's few
        # connection slots (GUNICORN_WORKER_CONNECTIONS), and a new connection queued behind
        # them waited until one closed (wrk page mix: 111-166 time-outs of 10 s; without the
        # pool none, loadtest/RESULTS.md).
        "keepalive": count("EDGE_UPSTREAM_KEEPALIVE", env.get("EDGE_UPSTREAM_KEEPALIVE", "0")),
        # Idle upstream connections are closed before gunicorn closes them (its `keepalive`),
        # or nginx could send a request down a connection gunicorn is just closing.
        "keepalive_timeout": max(1, count("GUNICORN_KEEPALIVE", gunicorn_keepalive) - 1),
        "cache_size": matching(
            "EDGE_CACHE_SIZE", env.get("EDGE_CACHE_SIZE", "1g"), r"\d+[kKmMgG]?", "e.g. 1g or 512m"
        ),
        "access_log": "off" if access_log == "off" else safe_path("EDGE_ACCESS_LOG", access_log),
        "worker_processes": workers,
        "static_root": static_root,
        "media_root": safe_path("MEDIA_ROOT", env.get("MEDIA_ROOT", f"{instance}/media")),
        "modules": modules(Path(env.get("NGINX_MODULES_DIR", "/usr/lib/nginx/modules"))),
        "user": WORKER_USER if os.geteuid() == 0 else None,
        "client_max_body_size": Config.MAX_CONTENT_LENGTH,
        "static_max_age": Config.STATIC_FILE_MAX_AGE,
        "one_year": ONE_YEAR,
        "error_statuses": list(ERROR_PAGES),
        "error_page_csp": ERROR_PAGE_CSP,
        "retry_after": RETRY_AFTER,
        "cacheable_paths": cacheable_paths(),
        "ipv6_client_rules": ipv6_client_rules(),
    }


IPV6_GROUP = "[0-9a-f]{1,4}"


def ipv6_client_rules() -> list[tuple[str, str]]:
    """`map $remote_addr` rules turning an IPv6 address into its /64, as the app's limits count
    clients (eventmate/security/clients.py): one subscriber holds a whole /64.

    nginx writes an address compressed ("2001:db8::5"), so the first four groups are not always
    there to cut off. Each way "::" can stand in the text gets its own rule: `a` groups before
    it, `b` after, 8 - a - b zero groups in it; the /64 is the groups before, the zeros, and the
    groups after that still fall in the first four."""
    group = IPV6_GROUP
    rules = [(rf"^(?<v6a>{group}:{group}:{group}:{group}):", "$v6a")]
    for before in range(4):
        for after in range(8 - before):
            zeros = 8 - before - after
            kept_after = max(0, after - 4)  # groups after "::" still inside the first four
            head = ":".join([group] * before)
            tail = ":".join([group] * after)
            if kept_after:
                tail_kept = ":".join([group] * kept_after)
                rest = ":".join([group] * (after - kept_after))
                tail = f"(?<v6b>{tail_kept}):{rest}"
            pattern = f"^(?<v6a>{head})::{tail}$" if before else f"^::{tail}$"
            prefix = (["$v6a"] if before else []) + ["0"] * min(zeros, 4 - before)
            prefix += ["$v6b"] if kept_after else []
            rules.append((pattern, ":".join(prefix)))
    return rules


def cacheable_paths() -> list[str]:
    """Regular expressions of the paths whose pages the app may mark public: the routes of the
    endpoints in eventmate/pagecache/keys.py's CACHEABLE, read from the app itself. Everything
    else bypasses the cache, and so its lock, which queued concurrent requests for a page that
    is never stored (20 at once for /login/ waited up to 2 s, in nginx's 0.5 s steps)."""
    from eventmate import create_app
    from eventmate.pagecache.keys import CACHEABLE

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(Config, instance_path=instance)
    patterns = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in CACHEABLE:
            literals = re.split(r"<[^>]+>", rule.rule)  # a converter matches one path segment
            patterns.add("^" + "[^/]+".join(re.escape(part) for part in literals) + "$")
    return sorted(patterns)


def modules(directory: Path) -> dict[str, str | None]:
    """Dynamic modules to load: cache_purge (required), brotli_static (when installed)."""
    purge = directory / CACHE_PURGE_MODULE
    if not purge.is_file():
        raise EdgeConfigError(
            f"{purge} is missing: apt-get install libnginx-mod-http-cache-purge "
            "(or set NGINX_MODULES_DIR)"
        )
    brotli = directory / BROTLI_STATIC_MODULE
    return {"cache_purge": str(purge), "brotli_static": str(brotli) if brotli.is_file() else None}


def security_headers() -> dict[str, str]:
    """The app's own headers (Flask-Talisman and eventmate/security), for what nginx answers."""
    return {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        # Talisman's format for a dict policy: `camera=(), microphone=()`.
        "Permissions-Policy": ", ".join(f"{k}={v}" for k, v in PERMISSIONS_POLICY.items()),
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Strict-Transport-Security": f"max-age={ONE_YEAR}; includeSubDomains",
    }


def ipv6_available() -> bool:
    """`listen [::]:port` fails to start on a host without IPv6; leave it out there."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def dhparam(out: Path) -> None:
    """RFC 7919's ffdhe2048 group (what Mozilla ships) for the DHE ciphers, made once."""
    path = out / "dhparam.pem"
    if path.exists():
        return
    command = ["openssl", "genpkey", "-genparam", "-algorithm", "DH",
               "-pkeyopt", "group:ffdhe2048", "-out", str(path)]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise EdgeConfigError(f"could not make {path} with openssl: {error}") from None


def prepare_directories(out: Path, user: str | None) -> None:
    """Cache and temp dirs, owned by the worker user when nginx starts as root. nginx creates
    the cache's level subdirectories itself, as that user."""
    paths = [out / "cache", *(out / "tmp" / name for name in TEMP_DIRS)]
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
    if user:
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            raise EdgeConfigError(f"running as root, but there is no user {user!r}") from None
        for path in [out / "tmp", *paths]:
            os.chown(path, account.pw_uid, account.pw_gid)


def warn_unreadable(paths: list[str], user: str | None) -> None:
    """Workers running as www-data must be able to reach these (traverse every parent)."""
    if not user:
        return
    for path in paths:
        for part in [Path(path), *Path(path).parents]:
            if part.exists() and not part.stat().st_mode & 0o001:
                print(f"render.py: warning: {user} can't traverse {part} (for {path})",
                      file=sys.stderr)  # fmt: skip
                break


def render(env: Mapping[str, str], out: Path) -> Path:
    """Write DIR/nginx.conf and the error pages; return the config's path."""
    out = out.resolve()
    context = settings(env, out)
    out.mkdir(parents=True, exist_ok=True)
    jinja = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=jinja2.select_autoescape(["html.j2"]),
    )
    errors = out / "errors"
    errors.mkdir(exist_ok=True)
    page = jinja.get_template("errors/error.html.j2")
    for status, (title, message) in ERROR_PAGES.items():
        write(errors / f"{status}.html", page.render(status=status, title=title, message=message))
    dhparam(out)
    prepare_directories(out, context["user"])
    warn_unreadable([context["static_root"], context["media_root"], str(errors)], context["user"])
    headers = jinja.get_template("security-headers.conf.j2")
    write(out / "security-headers.conf", headers.render(headers=security_headers(), hsts=False))
    write(
        out / "security-headers-https.conf",
        headers.render(headers=security_headers(), hsts=True),
    )
    config = out / "nginx.conf"
    write(config, jinja.get_template("nginx.conf.j2").render(context))
    return config


def write(path: Path, text: str) -> None:
    """Replace the file in one step: an nginx reloading (HUP) never reads half of it."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="directory for nginx.conf etc.")
    args = parser.parse_args(argv)
    try:
        config = render(os.environ, args.out)
    except EdgeConfigError as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 2
    print(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
