"""Configuration classes.

`Config` is the embedded default: SQLite under `instance/`, in-process cache and rate-limit
storage, sessions on the filesystem — it runs with no servers at all. `DATABASE_URL` and
`REDIS_URL` switch it to PostgreSQL and Redis. Settings that depend on the environment are
resolved by `settings_from_env()` when the app is created, never at import time.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from contextlib import suppress
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Values people copy from tutorials; production refuses to start with any of them.
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "you-will-never-guess"}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def allowed_networks(value: str) -> list[IPv4Network | IPv6Network]:
    """`10.0.0.0/8, 192.168.1.7`: checked at start-up, so a typo can't fail a scrape later."""
    try:
        return [ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]
    except ValueError as error:
        raise ConfigError(f"METRICS_ALLOWED_NETWORKS: {error}") from None


def _listed(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def next_database(redis_url: str) -> str:
    """The same Redis server's next database (redis://h:6379/2 → /3; 15 wraps to 0). Only for a
    plain redis:// or rediss:// URL with the database in its path: any other (a socket, a
    ?db= parameter) must name SESSION_REDIS_URL itself."""
    parts = urlsplit(redis_url)
    number = parts.path.strip("/") or "0"
    if parts.scheme not in ("redis", "rediss") or "db=" in parts.query or not number.isdigit():
        raise ConfigError(
            f"Set SESSION_REDIS_URL: sessions can't be given their own database of {redis_url!r}"
            " automatically (only redis://host:port/N URLs are)."
        )
    path = f"/{(int(number) + 1) % 16}"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def whole_seconds(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, str(default)).strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number of seconds, at least 1 (not {value!r})")
    return int(value)


def write_private_file(path: Path, text: str = "") -> None:
    """Create `path`, readable by its owner only from the first byte (mode 0600, whatever the
    umask: a chmod after writing would leave a moment when anyone could read it)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and pin the psycopg2 driver.

    Heroku-style URLs say postgres://, which SQLAlchemy 2 refuses; SQLAlchemy 2.1 picks
    psycopg 3 for a bare postgresql://, but our stack is psycopg2.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


class Config:
    NAME = "default"
    DEBUG = False
    TESTING = False
    SITE_NAME = "EventMate"
    # How paid events are paid, said wherever a price or total is (PAYMENT_NOTE in the env).
    PAYMENT_NOTE = "Paid at the venue: nothing is charged online."
    # The locale of dates, prices and numbers (Babel's data): "en" writes ¥1,000 and €10.00.
    BABEL_DEFAULT_LOCALE = "en"
    # WTForms' messages in English: no per-request load of its translation catalogues, which
    # Flask-WTF does once Flask-Babel is installed (0.35 ms of every page with a form).
    WTF_I18N_ENABLED = False

    EVENTS_PER_PAGE = 20
    REVIEWS_PER_PAGE = 10
    BOOKINGS_PER_PAGE = 20  # each list on "My bookings"
    HOME_UPCOMING_LIMIT = 12
    HOME_TOP_CITIES = 8
    SEARCH_QUERY_MAX_LENGTH = 200
    # Aggregates on the home page (category counts, top cities) are shared by every visitor.
    AGGREGATE_CACHE_SECONDS = 60
    # Whole pages for visitors without a session (eventmate/pagecache); 0 turns it off.
    PAGE_CACHE_SECONDS = 60
    # The signed-in member's row, instead of a query per request (eventmate/auth/user_cache.py).
    USER_CACHE_SECONDS = 60
    # Event pages: every change they show refreshes them at once (pagecache/keys.py).
    EVENT_PAGE_CACHE_SECONDS = 300
    PAGE_CACHE_BR_LEVEL = 5  # once per stored page, not per response (q6 took 1.6x as long)

    CACHE_DEFAULT_TIMEOUT = 300
    # One budget per client IP (an IPv6 /64) shared by every page, 404s and 405s included.
    RATELIMIT_APPLICATION = "100 per minute"
    # Sign-in attempts (eventmate/security/limits.py): per client, and per account and client
    # (a successful sign-in starts that one again).
    LOGIN_LIMIT_PER_IP = "20 per minute"
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    # Past this many failures on one account from all clients, each attempt waits (never 429).
    LOGIN_ACCOUNT_CEILING = "20 per 15 minutes"
    LOGIN_SLOWDOWN_SECONDS = 2.0
    REGISTER_LIMIT = "5 per hour"
    BOOKING_LIMIT = "20 per minute"
    # X-RateLimit-* on every response would cost two more Redis round trips per request; a 429
    # still says Retry-After (eventmate/errors.py).
    RATELIMIT_HEADERS_ENABLED = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=24)
    # A session lasts 24 h from when it was last changed (sign-in, a form's token), instead of
    # being written back to Redis, with a new cookie, on every request a member makes.
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    # /metrics/ and Server-Timing are for operators (eventmate/monitoring/access.py). Unless
    # this is True (development, test), /metrics/ needs METRICS_TOKEN or a client in
    # METRICS_ALLOWED_NETWORKS (else 404), and only clients there get Server-Timing.
    OPERATOR_DETAIL_PUBLIC = False
    # Redirect plain HTTP to HTTPS (production; health checks are exempt).
    FORCE_HTTPS = False
    # One image (5 MB at most) and a few form fields per request; more is a 413.
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024
    MAX_IMAGES_PER_EVENT = 8

    # Compression (eventmate/assets): brotli when accepted, else gzip, for text above 500 bytes.
    # Brotli 4 costs about what gzip 6 does and compresses better; static files are compressed
    # once, at 11, by `flask digest compile`. No zstd or deflate: two encodings are enough.
    COMPRESS_ALGORITHM = ("br", "gzip")
    COMPRESS_ALGORITHM_STREAMING = ("br", "gzip")
    COMPRESS_BR_LEVEL = 2  # half the time of 4 on a 27 KB page for 3% more bytes
    COMPRESS_LEVEL = 6
    COMPRESS_MIN_SIZE = 500
    COMPRESS_MIMETYPES = (
        "text/html", "text/css", "text/javascript", "application/javascript", "application/json",
        "application/xml", "text/xml", "image/svg+xml", "text/plain", "text/csv", "text/calendar",
    )  # fmt: skip
    # `flask digest compile` writes hashed copies plus .gz and .br siblings into eventmate/static.
    FLASK_STATIC_DIGEST_COMPRESSION = ("gzip", "brotli")
    # Static files under their plain names (hashed names are immutable for a year).
    STATIC_FILE_MAX_AGE = 3600

    # Email (eventmate/notifications). A pending message is handed to a worker again after
    # this long (Redis was down, a worker died mid-send); after this many tries it is failed.
    OUTBOX_RETRY_SECONDS = 60
    OUTBOX_SWEEP_SECONDS = 30  # how often beat's sweep looks for them
    OUTBOX_MAX_ATTEMPTS = 10
    OUTBOX_BATCH_SIZE = 50  # messages per task (an event's attendees are told in batches)
    EMAIL_VERIFY_SECONDS = 3 * 24 * 3600
    PASSWORD_RESET_SECONDS = 3600
    EMAIL_CHANGE_SECONDS = 24 * 3600  # the link that moves an account to a new address
    PASSWORD_RESET_LIMIT_PER_IP = "10 per hour"
    PASSWORD_RESET_LIMIT_PER_ADDRESS = "3 per hour"
    VERIFY_RESEND_LIMIT = "3 per hour"
    EMAIL_CHANGE_LIMIT = "5 per hour"  # per client and per account
    REMINDER_HOURS_BEFORE = 24
    WAITLIST_HOLD_MINUTES = 30

    @classmethod
    def settings_from_env(cls, environ: Mapping[str, str], instance_path: str) -> dict:
        """Resolve everything that comes from the environment or the instance folder."""
        settings: dict = {}
        database_url = environ.get("DATABASE_URL") or f"sqlite:///{instance_path}/eventmate.db"
        settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(database_url)
        settings["SECRET_KEY"] = environ.get("SECRET_KEY") or cls.instance_secret(instance_path)
        redis_url = environ.get("REDIS_URL")
        session_url = environ.get("SESSION_REDIS_URL") or (redis_url and next_database(redis_url))
        settings.update(cls.store_settings(redis_url, session_url, instance_path))
        # Several deployments can share one Redis, each under its own prefix.
        prefix = environ.get("REDIS_KEY_PREFIX", "em:")
        settings["CACHE_KEY_PREFIX"] = f"{prefix}cache:"
        settings["SESSION_KEY_PREFIX"] = f"{prefix}session:"
        settings["RATELIMIT_KEY_PREFIX"] = f"{prefix}limits"
        # Operations (eventmate/monitoring).
        settings["LOG_LEVEL"] = environ.get("LOG_LEVEL", "INFO").upper()
        settings["LOG_FORMAT"] = environ.get("LOG_FORMAT", "text")
        settings["LOG_FILE"] = environ.get("LOG_FILE") or None
        settings["SLOW_REQUEST_SECONDS"] = float(environ.get("SLOW_REQUEST_SECONDS", "1"))
        settings["METRICS_TOKEN"] = environ.get("METRICS_TOKEN") or None
        settings["METRICS_ALLOWED_NETWORKS"] = allowed_networks(
            environ.get("METRICS_ALLOWED_NETWORKS", "")
        )
        # Per process, for each of the three Redis clients (cache, sessions, limits).
        settings["REDIS_MAX_CONNECTIONS"] = int(environ.get("REDIS_MAX_CONNECTIONS", "50"))
        settings["CLOUDINARY_URL"] = environ.get("CLOUDINARY_URL") or None
        settings["PAYMENT_NOTE"] = environ.get("PAYMENT_NOTE") or cls.PAYMENT_NOTE
        # How many proxies (load balancer, nginx) sit in front; 0 trusts no X-Forwarded-*.
        settings["PROXY_FIX_HOPS"] = int(environ.get("PROXY_FIX_HOPS", "0"))
        # The edges' purge listeners (http://host:port, comma-separated): an event's page is
        # purged there after every change it shows (eventmate/pagecache/edge.py).
        settings["EDGE_PURGE_URLS"] = _listed(environ.get("EDGE_PURGE_URLS", ""))
        # Host names the site is served under, whose cached pages are purged; the host a
        # change was made through is purged too.
        settings["SITE_HOSTS"] = [host.lower() for host in _listed(environ.get("SITE_HOSTS", ""))]
        settings.update(cls.mail_settings(environ, instance_path, settings["SITE_HOSTS"]))
        settings["CELERY"] = cls.celery_settings(environ, settings, instance_path, prefix)
        if "RATELIMIT_APPLICATION" in environ:  # empty: the edge limits requests per IP instead
            settings["RATELIMIT_APPLICATION"] = environ["RATELIMIT_APPLICATION"]
        if settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
                "pool_pre_ping": True,
                "pool_size": int(environ.get("DB_POOL_SIZE", "10")),
                # Overflow connections are closed on return: under load each costs a new backend.
                "max_overflow": int(environ.get("DB_MAX_OVERFLOW", "0")),
                "pool_recycle": int(environ.get("DB_POOL_RECYCLE", "1800")),
                # Greenlets queue for a pooled connection this long before a 503. Whole
                # seconds: Flask-SQLAlchemy builds the engine with engine_from_config, which
                # makes it an int (0.5 would mean no wait at all).
                "pool_timeout": whole_seconds(environ, "DB_POOL_TIMEOUT", 10),
                # An unreachable database fails a request in seconds, not minutes.
                "connect_args": {"connect_timeout": int(environ.get("DB_CONNECT_TIMEOUT", "2"))},
            }
        settings.update(cls.replica_settings(environ, settings))
        return settings

    @staticmethod
    def replica_settings(environ: Mapping[str, str], settings: dict) -> dict:
        """DATABASE_REPLICA_URL: a streaming replica of DATABASE_URL that the listings, search,
        event pages and sitemap read from (eventmate/replica). It is a second engine (the bind
        "replica") with the primary's pool options. Unset, nothing changes: one database.

        READ_YOUR_WRITES must exceed REPLICA_MAX_LAG by more than the age of a lag reading
        (replica.LAG_READING_SECONDS, 1 s): pages read the replica only while its lag is at
        most REPLICA_MAX_LAG, so whatever was written READ_YOUR_WRITES seconds ago is there."""
        url = environ.get("DATABASE_REPLICA_URL") or None
        max_lag = whole_seconds(environ, "REPLICA_MAX_LAG", 3)
        window = whole_seconds(environ, "READ_YOUR_WRITES", 5)
        replica = {"DATABASE_REPLICA_URL": None, "REPLICA_MAX_LAG": max_lag,
                   "READ_YOUR_WRITES": window}  # fmt: skip
        if url is None:
            return replica
        if not settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            raise ConfigError("DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL")
        if window < max_lag + 2:
            raise ConfigError(
                f"READ_YOUR_WRITES ({window}) must be at least REPLICA_MAX_LAG ({max_lag}) + 2 "
                "seconds: a write is read from the primary until the replica surely has it"
            )
        replica["DATABASE_REPLICA_URL"] = normalise_database_url(url)
        engine_options = settings["SQLALCHEMY_ENGINE_OPTIONS"]
        replica["SQLALCHEMY_BINDS"] = {
            "replica": {**engine_options, "url": replica["DATABASE_REPLICA_URL"]}
        }
        return replica

    @staticmethod
    def store_settings(redis_url: str | None, session_url: str | None, instance_path: str) -> dict:
        """Cache, sessions and rate limits: Redis when REDIS_URL is set, in-process otherwise.

        Cached data (REDIS_URL) may be evicted at any time; sessions and rate-limit counters
        (SESSION_REDIS_URL, by default the next database of the same server) must not be. Kept
        apart, a flood of cached pages can't push out sessions, and each store can be given
        its own memory policy (README: "Redis")."""
        if redis_url:
            return {
                "REDIS_URL": redis_url,
                "SESSION_REDIS_URL": session_url,
                # RedisCache that treats an unavailable Redis as a miss (eventmate/resilience).
                "CACHE_TYPE": "eventmate.resilience.ResilientRedisCache",
                "CACHE_REDIS_URL": redis_url,
                "CACHE_IS_SHARED": True,  # every process hears of every change at once
                "SESSION_TYPE": "redis",
                "RATELIMIT_STORAGE_URI": session_url,
                # With Redis down, count in process memory instead of failing requests.
                "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            }
        return {
            "REDIS_URL": None,
            "SESSION_REDIS_URL": None,
            "CACHE_TYPE": "SimpleCache",
            "SESSION_TYPE": "cachelib",
            "SESSION_CACHELIB_DIR": os.path.join(instance_path, "sessions"),
            "RATELIMIT_STORAGE_URI": "memory://",
            # Each process has its own cache here: a change made in one process (or by a CLI
            # command) can't reach another's entries. So what must change at once (an event's
            # page after a booking, the signed-in member) is not cached in the app, and the
            # rest is kept the usual minute.
            "CACHE_IS_SHARED": False,
            "EVENT_PAGE_CACHE_SECONDS": Config.PAGE_CACHE_SECONDS,
            "USER_CACHE_SECONDS": 0,
        }

    @staticmethod
    def mail_settings(environ: Mapping[str, str], instance_path: str, hosts: list[str]) -> dict:
        """MAIL_URL: smtp://user:pass@host:port (add ?starttls=true for STARTTLS), smtps://…
        (TLS from the first byte), or file:///folder (each message an .eml file there). Unset,
        messages are written to instance/outbox/, where a newcomer can open them. SITE_URL is
        the address links in emails point to."""
        site = environ.get("SITE_URL") or (f"https://{hosts[0]}" if hosts else "")
        outbox = os.path.join(instance_path, "outbox")
        return {
            "MAIL_URL": environ.get("MAIL_URL") or f"file://{outbox}",
            "MAIL_FROM": environ.get("MAIL_FROM", "EventMate <no-reply@eventmate.invalid>"),
            "SITE_URL": (site or "http://127.0.0.1:5000").rstrip("/"),
        }

    @staticmethod
    def celery_settings(
        environ: Mapping[str, str], settings: dict, instance_path: str, prefix: str
    ) -> dict:
        """Celery (eventmate/jobs.py). The broker is Redis's non-evicting database (the
        sessions'), unless CELERY_BROKER_URL names another; with no Redis at all, tasks run in
        the process that queues them (eager), and nothing needs a worker."""
        broker = environ.get("CELERY_BROKER_URL") or settings["SESSION_REDIS_URL"]
        return {
            "broker_url": broker or "memory://",
            "task_always_eager": not broker,
            "task_ignore_result": True,  # no result backend: the outbox row is the result
            # One (disabled) result backend for the process. Otherwise Celery makes one per
            # thread, and under gevent per request: each read every installed package's entry
            # points, 6% of gunicorn's CPU in the Locust run (loadtest/RESULTS.md).
            "result_backend_thread_safe": True,
            # Acknowledged after the task ran: a worker killed mid-send leaves it queued.
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
            # Several deployments (and test runs) can share one Redis.
            "broker_transport_options": {
                "global_keyprefix": f"{prefix}celery:",
                "visibility_timeout": 600,
            },
            "beat_schedule_filename": os.path.join(instance_path, "celerybeat-schedule"),
            "worker_hijack_root_logger": False,
        }

    @staticmethod
    def instance_secret(instance_path: str) -> str:
        """A random key kept in the instance folder, so a newcomer never needs to invent one."""
        path = Path(instance_path) / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with suppress(FileExistsError):  # another process made it first: use theirs
                write_private_file(path, secrets.token_urlsafe(48))
        return path.read_text().strip()


class DevelopmentConfig(Config):
    NAME = "development"
    DEBUG = True
    OPERATOR_DETAIL_PUBLIC = True
    PAGE_CACHE_SECONDS = 0  # see template edits at once


class ProductionConfig(Config):
    NAME = "production"
    SESSION_COOKIE_SECURE = True
    FORCE_HTTPS = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def settings_from_env(cls, environ: Mapping[str, str], instance_path: str) -> dict:
        secret = environ.get("SECRET_KEY", "")
        if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
                "characters in production. Make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if not environ.get("MAIL_URL"):
            raise ConfigError(
                "MAIL_URL must say how email is sent in production: smtp://user:pass@host:587"
                "?starttls=true, smtps://user:pass@host:465, or file:///folder to keep it."
            )
        settings = super().settings_from_env(environ, instance_path)
        if not settings["SITE_HOSTS"]:
            raise ConfigError(
                "SITE_HOSTS must name the host names the site is served under in production "
                "(e.g. SITE_HOSTS=events.example.org): requests for any other Host are refused."
            )
        return settings


class TestConfig(Config):
    NAME = "test"
    TESTING = True
    OPERATOR_DETAIL_PUBLIC = True
    # The caches are on, as in production: each test starts with an empty cache (conftest).

    @classmethod
    def settings_from_env(cls, environ: Mapping[str, str], instance_path: str) -> dict:
        test_env = {
            "DATABASE_URL": environ.get("TEST_DATABASE_URL")
            or f"sqlite:///{instance_path}/eventmate-test.db",
            "SECRET_KEY": "test-secret-key-not-for-production-use",
        }
        passed = ("REDIS_URL", "SESSION_REDIS_URL", "CLOUDINARY_URL", "PROXY_FIX_HOPS",
                  "EDGE_PURGE_URLS", "SITE_HOSTS", "MAIL_URL", "SITE_URL",
                  "CELERY_BROKER_URL", "DATABASE_REPLICA_URL", "REPLICA_MAX_LAG",
                  "READ_YOUR_WRITES")  # fmt: skip
        for name in passed:
            if environ.get(f"TEST_{name}"):
                test_env[name] = environ[f"TEST_{name}"]
        settings = super().settings_from_env(test_env, instance_path)
        # One namespace per test run in the shared Redis; a test's server passes its own to all
        # its worker processes (TEST_KEY_PREFIX), which must share one cache.
        prefix = environ.get("TEST_KEY_PREFIX") or f"em-test-{os.getpid()}"
        settings["CACHE_KEY_PREFIX"] = f"{prefix}:cache:"
        # Limits are off for the suite (it is one busy client); the limit tests switch them on
        # in a server process of their own.
        settings["RATELIMIT_ENABLED"] = environ.get("TEST_RATELIMIT_ENABLED") == "1"
        if environ.get("TEST_PAGE_CACHE_SECONDS"):
            settings["PAGE_CACHE_SECONDS"] = int(environ["TEST_PAGE_CACHE_SECONDS"])
        settings["RATELIMIT_KEY_PREFIX"] = f"{prefix}:limits"
        celery = settings["CELERY"]
        celery["broker_transport_options"]["global_keyprefix"] = f"{prefix}:celery:"
        if not environ.get("TEST_CELERY_BROKER_URL"):
            # In-process unless a test runs a real worker (tests/workers.py) and says so.
            celery.update(broker_url="memory://", task_always_eager=True)
        # A test's worker and the suite share one queue of their own; the sweep's delay is short
        # enough to watch it happen.
        settings["OUTBOX_RETRY_SECONDS"] = int(environ.get("TEST_OUTBOX_RETRY_SECONDS", "60"))
        settings["OUTBOX_SWEEP_SECONDS"] = int(environ.get("TEST_OUTBOX_SWEEP_SECONDS", "30"))
        return settings


CONFIGS = {c.NAME: c for c in (Config, DevelopmentConfig, ProductionConfig, TestConfig)}


def config_from_env(environ: Mapping[str, str] | None = None) -> type[Config]:
    """Pick the config class named by EVENTMATE_CONFIG (default: the embedded default)."""
    environ = os.environ if environ is None else environ
    name = environ.get("EVENTMATE_CONFIG", "default")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"EVENTMATE_CONFIG={name!r}: expected one of {sorted(CONFIGS)}") from None
