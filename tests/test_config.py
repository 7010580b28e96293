import pytest

from config import (
    Config,
    ConfigError,
    ProductionConfig,
    config_from_env,
    normalise_database_url,
)
from eventmate import create_app

REAL_SECRET = "k" * 48


def test_embedded_default_needs_no_servers(tmp_path):
    settings = Config.settings_from_env({}, str(tmp_path))
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/eventmate.db"
    assert settings["CACHE_TYPE"] == "SimpleCache"
    assert settings["SESSION_TYPE"] == "cachelib"
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    # A random secret is created once and kept in the instance folder.
    assert len(settings["SECRET_KEY"]) >= 32
    assert Config.settings_from_env({}, str(tmp_path))["SECRET_KEY"] == settings["SECRET_KEY"]


def test_urls_switch_to_postgres_and_redis(tmp_path):
    settings = Config.settings_from_env(
        {"DATABASE_URL": "postgres://u@db/app", "REDIS_URL": "redis://cache:6379/0"},
        str(tmp_path),
    )
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@db/app"
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"]["max_overflow"] == 0
    assert settings["CACHE_TYPE"] == "eventmate.resilience.ResilientRedisCache"
    assert settings["SESSION_TYPE"] == "redis"
    # Sessions and rate-limit counters (never to be evicted) apart from cached data.
    assert settings["CACHE_REDIS_URL"] == "redis://cache:6379/0"
    assert settings["SESSION_REDIS_URL"] == "redis://cache:6379/1"
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/1"


@pytest.mark.parametrize(
    ("redis_url", "sessions"),
    [
        ("redis://cache:6379", "redis://cache:6379/1"),
        ("redis://:pw@cache:6379/15", "redis://:pw@cache:6379/0"),
        ("rediss://cache:6380/4?ssl_cert_reqs=none", "rediss://cache:6380/5?ssl_cert_reqs=none"),
    ],
)
def test_sessions_default_to_the_next_redis_database(tmp_path, redis_url, sessions):
    settings = Config.settings_from_env({"REDIS_URL": redis_url}, str(tmp_path))
    assert settings["SESSION_REDIS_URL"] == sessions
    explicit = {"REDIS_URL": redis_url, "SESSION_REDIS_URL": "redis://sessions:6379/0"}
    assert Config.settings_from_env(explicit, str(tmp_path))["SESSION_REDIS_URL"] == (
        "redis://sessions:6379/0"
    )


@pytest.mark.parametrize(
    "redis_url", ["unix:///run/redis.sock", "redis://cache:6379?db=2", "redis://cache/x"]
)
def test_sessions_need_their_own_url_when_it_cant_be_derived(tmp_path, redis_url):
    with pytest.raises(ConfigError, match="SESSION_REDIS_URL"):
        Config.settings_from_env({"REDIS_URL": redis_url}, str(tmp_path))
    explicit = {"REDIS_URL": redis_url, "SESSION_REDIS_URL": "unix:///run/sessions.sock"}
    settings = Config.settings_from_env(explicit, str(tmp_path))
    assert settings["SESSION_REDIS_URL"] == "unix:///run/sessions.sock"


def test_production_refuses_to_start_without_its_host_names(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTMATE_CONFIG", "production")
    monkeypatch.setenv("SECRET_KEY", REAL_SECRET)
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:2525")
    monkeypatch.delenv("SITE_HOSTS", raising=False)
    with pytest.raises(ConfigError, match="SITE_HOSTS"):
        create_app(instance_path=str(tmp_path))


def test_a_request_for_an_unknown_host_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", REAL_SECRET)
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("SITE_HOSTS", "events.example.org")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.db")
    app = create_app(ProductionConfig, instance_path=str(tmp_path))
    client = app.test_client()
    https = {"base_url": "https://events.example.org"}
    assert client.get("/robots.txt", **https).status_code == 200
    assert client.get("/robots.txt", base_url="https://events.example.org:8443").status_code == 200
    response = client.get("/robots.txt", base_url="https://attacker.example")
    assert response.status_code == 400
    assert "not served under that host name" in response.get_data(as_text=True)
    assert "Sitemap" not in response.get_data(as_text=True)
    # A load balancer probes the instance by its address.
    probe = client.get("/health/live/", base_url="http://10.0.0.7:8000")
    assert probe.status_code == 200
    assert probe.json == {"status": "ok"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://a@b/c", "postgresql+psycopg2://a@b/c"),
        ("postgresql://a@b/c", "postgresql+psycopg2://a@b/c"),
        ("postgresql+psycopg2://a@b/c", "postgresql+psycopg2://a@b/c"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_spellings(url, expected):
    assert normalise_database_url(url) == expected


@pytest.mark.parametrize("secret", [None, "", "change-me", "dev", "short-but-random-x7"])
def test_production_refuses_to_start_without_a_real_secret(tmp_path, monkeypatch, secret):
    monkeypatch.setenv("EVENTMATE_CONFIG", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(instance_path=str(tmp_path))


def test_production_starts_with_a_real_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", REAL_SECRET)
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("SITE_HOSTS", "events.example.org")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.db")
    app = create_app(ProductionConfig, instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == REAL_SECRET
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


def test_unknown_config_name_is_an_error():
    with pytest.raises(ConfigError, match="EVENTMATE_CONFIG"):
        config_from_env({"EVENTMATE_CONFIG": "staging"})


def test_the_secret_and_the_database_file_are_private_from_the_start(tmp_path, monkeypatch):
    """Created owner-only (0600) even under a permissive umask, never chmod-ed afterwards."""
    import os
    import stat

    from sqlalchemy import text

    from eventmate.extensions import db

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    opened: list[tuple[str, int]] = []
    real_chmod = os.chmod
    monkeypatch.setattr(os, "chmod", lambda path, mode, **kw: opened.append((str(path), mode))
                        or real_chmod(path, mode, **kw))  # fmt: skip
    previous = os.umask(0o022)
    try:
        app = create_app(Config, instance_path=str(tmp_path / "instance"))
        with app.app_context():
            db.session.execute(text("CREATE TABLE t (x int)"))
            db.session.commit()
            db.engine.dispose()
    finally:
        os.umask(previous)
    for name in ("secret_key", "eventmate.db"):
        assert stat.S_IMODE((tmp_path / "instance" / name).stat().st_mode) == 0o600, name
    assert not [path for path, _ in opened if path.endswith(("secret_key", "eventmate.db"))]


@pytest.mark.parametrize("value", ["0.5", "0", "-1", "ten", ""])
def test_the_pool_timeout_is_whole_seconds(tmp_path, value):
    """SQLAlchemy's engine_from_config (used by Flask-SQLAlchemy) makes it an int: 0.5 would
    silently mean no wait at all, so it is refused."""
    environ = {"DATABASE_URL": "postgresql://u@db/app", "DB_POOL_TIMEOUT": value}
    with pytest.raises(ConfigError, match="DB_POOL_TIMEOUT"):
        Config.settings_from_env(environ, str(tmp_path))
    environ["DB_POOL_TIMEOUT"] = "3"
    options = Config.settings_from_env(environ, str(tmp_path))["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_timeout"] == 3


def test_without_a_replica_there_is_one_database(tmp_path):
    settings = Config.settings_from_env({"DATABASE_URL": "postgresql://u@db/app"}, str(tmp_path))
    assert settings["DATABASE_REPLICA_URL"] is None
    assert "SQLALCHEMY_BINDS" not in settings


def test_the_replica_is_a_bind_with_the_primarys_pool_options(tmp_path):
    environ = {
        "DATABASE_URL": "postgresql://u@primary/app",
        "DATABASE_REPLICA_URL": "postgres://u@replica/app",
        "DB_POOL_SIZE": "7",
    }
    settings = Config.settings_from_env(environ, str(tmp_path))
    replica = settings["SQLALCHEMY_BINDS"]["replica"]
    assert replica["url"] == "postgresql+psycopg2://u@replica/app"
    assert {k: v for k, v in replica.items() if k != "url"} == settings[
        "SQLALCHEMY_ENGINE_OPTIONS"
    ]
    assert replica["pool_size"] == 7
    assert (settings["REPLICA_MAX_LAG"], settings["READ_YOUR_WRITES"]) == (3, 5)


def test_a_replica_needs_postgresql_and_a_window_longer_than_its_lag(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URL"):
        Config.settings_from_env({"DATABASE_REPLICA_URL": "postgresql://u@r/app"}, str(tmp_path))
    environ = {
        "DATABASE_URL": "postgresql://u@primary/app",
        "DATABASE_REPLICA_URL": "postgresql://u@replica/app",
        "REPLICA_MAX_LAG": "10",
        "READ_YOUR_WRITES": "11",
    }
    with pytest.raises(ConfigError, match="READ_YOUR_WRITES"):
        Config.settings_from_env(environ, str(tmp_path))
    environ["READ_YOUR_WRITES"] = "12"
    assert Config.settings_from_env(environ, str(tmp_path))["READ_YOUR_WRITES"] == 12
