"""Health checks, /metrics/, request ids, Server-Timing and logging."""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import string
import urllib.parse
from logging.handlers import RotatingFileHandler

import pytest
from flask import Response

from config import Config, ConfigError, DevelopmentConfig, ProductionConfig, allowed_networks
from eventmate import create_app
from eventmate.bookings.services import book_seats
from eventmate.extensions import db
from eventmate.monitoring.logs import configure_logging
from eventmate.monitoring.metrics import METHODS
from eventmate.resilience import CircuitBreaker
from tests.conftest import app_for_database
from tests.factories import make_event, make_member
from tests.live import free_port, gunicorn_server


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample in the Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        sample_name, _, raw_labels = sample.partition("{")
        found = ",".join(sorted(raw_labels.rstrip("}").split(","))) if raw_labels else ""
        if sample_name == name and found == wanted:
            return float(value)
    return 0.0


def scrape(client) -> str:
    response = client.get("/metrics/")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return response.get_data(as_text=True)


# Health -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health/", "/health/live/", "/health/ready/"])
def test_health_checks_set_no_cookie_and_are_never_cached(client, db_session, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
    assert "Set-Cookie" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]


def test_plain_health_touches_nothing(client, count_queries):
    with count_queries() as counter:
        assert client.get("/health/").get_json() == {"status": "ok"}
    assert counter.count == 0


def test_ready_says_degraded_but_stays_in_rotation_when_redis_is_down(app, tmp_path, monkeypatch):
    closed_port = free_port()
    monkeypatch.setenv("TEST_REDIS_URL", f"redis://127.0.0.1:{closed_port}/0")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app_for_database(url, str(tmp_path)) as other:
        response = other.test_client().get("/health/ready/")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "failing"},
    }


# Metrics ------------------------------------------------------------------------------------


def test_requests_are_counted_by_endpoint_and_status(client, db_session):
    before = scrape(client)
    client.get("/")
    client.get("/no-such-page/")
    after = scrape(client)
    home = {"endpoint": "main.home", "method": "GET", "status": "200"}
    missing = {"endpoint": "OTHER", "method": "GET", "status": "404"}
    name = "eventmate_http_requests_total"
    assert metric(after, name, **home) == metric(before, name, **home) + 1
    assert metric(after, name, **missing) == metric(before, name, **missing) + 1
    buckets = "eventmate_http_request_duration_seconds_count"
    assert metric(after, buckets, endpoint="main.home") >= 1


def test_bookings_and_seats_are_counted(client, db_session):
    event = make_event(capacity=10)
    db_session.commit()
    before = scrape(client)
    book_seats(make_member(), event, 3, "metrics-token")
    after = scrape(client)
    assert metric(after, "eventmate_bookings_created_total") == (
        metric(before, "eventmate_bookings_created_total") + 1
    )
    assert metric(after, "eventmate_seats_booked_total") == (
        metric(before, "eventmate_seats_booked_total") + 3
    )


def test_page_cache_hits_and_misses_are_counted(app, client, login, db_session):
    make_event()
    login(make_member())
    db_session.commit()
    before = scrape(client)
    for _ in range(3):  # a member's page: the shared part is rendered once
        client.get("/events/")
    after = scrape(client)
    lookups = "eventmate_cache_lookups_total"
    assert (
        metric(after, lookups, kind="page", result="miss")
        - metric(before, lookups, kind="page", result="miss")
        == 1
    )
    assert (
        metric(after, lookups, kind="page", result="hit")
        - metric(before, lookups, kind="page", result="hit")
        == 2
    )


def test_redis_circuit_state_is_exported(client, db_session):
    breaker = CircuitBreaker(cool_down=0, name="redis://cache-host:6379/0")
    other = CircuitBreaker(cool_down=60, name="redis://sessions-host:6379/0")
    breaker.trip(ConnectionError("test"))
    other.trip(ConnectionError("test"))
    text = scrape(client)
    assert metric(text, "eventmate_redis_circuit_open", redis="redis://cache-host:6379/0") == 1
    assert breaker.call(lambda: "served", None) == "served"  # cool-down over: closed again
    text = scrape(client)
    assert metric(text, "eventmate_redis_circuit_open", redis="redis://cache-host:6379/0") == 0
    assert metric(text, "eventmate_redis_circuit_open", redis="redis://sessions-host:6379/0") == 1


def test_breaker_labels_never_show_a_password():
    from eventmate.resilience import breaker_for

    breaker = breaker_for("redis://:hunter2@redis.internal:6379/0")
    assert breaker.gauge._labelvalues == ("redis://redis.internal:6379/0",)


def series(text: str, *names: str) -> set[str]:
    """Every sample of these metrics: name and labels, without the value."""
    return {line.rpartition(" ")[0] for line in text.splitlines()
            if line.split("{")[0].split(" ")[0] in names}  # fmt: skip


def test_clients_cannot_add_series_with_odd_methods_or_paths(app, client, db_session):
    """gunicorn passes on any method of 3-20 letters; each must not become a new series."""
    chosen = random.Random(13)

    def odd_requests(count: int) -> None:
        for _ in range(count):
            method = "".join(chosen.choices(string.ascii_uppercase, k=chosen.randint(3, 20)))
            path = f"/{''.join(chosen.choices(string.ascii_lowercase, k=12))}/"
            assert client.open("/", method=method).status_code == 405
            assert client.open(path, method=method).status_code == 404
            assert client.get(path).status_code == 404

    names = ("eventmate_http_requests_total", "eventmate_http_request_duration_seconds_count")
    before = scrape(client)
    odd_requests(40)
    middle = scrape(client)
    odd_requests(40)
    after = scrape(client)
    # At most one new series per (endpoint, method, status) of OTHER, and none from then on.
    assert len(series(middle, *names) - series(before, *names)) <= 4
    assert series(after, *names) == series(middle, *names)
    # (Series other tests' apps made in this process, with routes of their own, aside.)
    added = "\n".join(series(after, *names) - series(before, *names))
    assert set(re.findall(r'method="([^"]*)"', after)) <= {*METHODS, "OTHER"}
    assert set(re.findall(r'endpoint="([^"]*)"', added)) <= {*app.view_functions, "OTHER"}
    counted = "eventmate_http_requests_total"
    assert metric(after, counted, endpoint="OTHER", method="OTHER", status="405") - metric(
        before, counted, endpoint="OTHER", method="OTHER", status="405") == 80  # fmt: skip
    assert metric(after, counted, endpoint="OTHER", method="OTHER", status="404") - metric(
        before, counted, endpoint="OTHER", method="OTHER", status="404") == 80  # fmt: skip
    assert metric(after, counted, endpoint="OTHER", method="GET", status="404") - metric(
        before, counted, endpoint="OTHER", method="GET", status="404") == 80  # fmt: skip


def test_db_pool_connections_in_use_is_exported(app, client, db_session):
    name = "eventmate_db_pool_connections_in_use"
    before = metric(scrape(client), name)
    connection = db.engine.connect()  # one more checked out of the pool
    try:
        during = metric(scrape(client), name)
    finally:
        connection.close()
    assert during == before + 1
    assert metric(scrape(client), name) == before


@pytest.fixture
def restricted_metrics(app):
    saved = {k: app.config[k] for k in ("METRICS_TOKEN", "METRICS_ALLOWED_NETWORKS")}
    yield app.config
    app.config.update(saved)


def test_metrics_can_require_a_token(client, restricted_metrics):
    restricted_metrics["METRICS_TOKEN"] = "s3cret-scraper-token"
    assert client.get("/metrics/").status_code == 404
    wrong = {"Authorization": "Bearer guess"}
    assert client.get("/metrics/", headers=wrong).status_code == 404
    right = {"Authorization": "Bearer s3cret-scraper-token"}
    assert "eventmate_http_requests_total" in scrape_with(client, headers=right)


def test_metrics_can_be_limited_to_networks(client, restricted_metrics):
    restricted_metrics["METRICS_ALLOWED_NETWORKS"] = allowed_networks("10.0.0.0/8")
    assert client.get("/metrics/").status_code == 404  # the test client is 127.0.0.1
    restricted_metrics["METRICS_ALLOWED_NETWORKS"] = allowed_networks("10.0.0.0/8, 127.0.0.0/8")
    assert "eventmate_http_requests_total" in scrape(client)


def scrape_with(client, **options) -> str:
    response = client.get("/metrics/", **options)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def build_app(app, tmp_path, monkeypatch):
    """`build_app(ProductionConfig, METRICS_TOKEN=...)`: an app made from that config class
    and that environment (SQLite, in-process stores), as wsgi.py would make it."""
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("SITE_HOSTS", "localhost")
    built = []

    def build(config_class, **env):
        for name in ("DATABASE_URL", "REDIS_URL", "METRICS_TOKEN", "METRICS_ALLOWED_NETWORKS",
                     "PROXY_FIX_HOPS", "CLOUDINARY_URL"):  # fmt: skip
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        built.append(create_app(config_class, instance_path=str(tmp_path / f"i{len(built)}")))
        return built[-1]

    yield build
    configure_logging(app)  # each create_app set up logging for itself


def test_metrics_are_closed_unless_configured_outside_development_and_test(build_app):
    bearer = {"Authorization": "Bearer s3cret-scraper-token"}
    for config_class in (Config, ProductionConfig):
        closed = build_app(config_class).test_client().get("/metrics/")
        assert closed.status_code == 404, config_class.NAME
        assert "Page not found" in closed.get_data(as_text=True)
        scraper = build_app(config_class, METRICS_TOKEN="s3cret-scraper-token").test_client()
        assert "eventmate_http_requests_total" in scrape_with(scraper, headers=bearer)
    developer = build_app(DevelopmentConfig).test_client()
    assert "eventmate_http_requests_total" in scrape_with(developer)


@pytest.mark.parametrize("config_class", [Config, ProductionConfig])
def test_server_timing_goes_only_to_allowed_networks(build_app, config_class):
    built = build_app(config_class, METRICS_ALLOWED_NETWORKS="10.0.0.0/8")

    @built.get("/shared-for-test/")
    def shared():
        response = Response("the same for everyone")
        response.cache_control.public = True
        response.cache_control.s_maxage = 60
        return response

    client = built.test_client()
    operator, visitor = {"REMOTE_ADDR": "10.1.2.3"}, {"REMOTE_ADDR": "203.0.113.9"}
    inside = client.get("/health/", environ_base=operator)
    assert re.fullmatch(r'app;dur=\d+\.\d+, db;dur=\d+\.\d+;desc="\d+ queries"',
                        inside.headers["Server-Timing"])  # fmt: skip
    outside = client.get("/health/", environ_base=visitor)
    assert outside.get_json() == {"status": "ok"}
    assert "X-Request-ID" in outside.headers
    assert "Server-Timing" not in outside.headers
    # A page the edge may keep would replay the operator's timings to everyone.
    kept = client.get("/shared-for-test/", base_url="https://localhost", environ_base=operator)
    assert kept.get_data(as_text=True) == "the same for everyone"
    assert "public" in kept.headers["Cache-Control"]
    assert "Server-Timing" not in kept.headers


def test_metrics_add_up_across_gunicorn_workers(tmp_path):
    """gunicorn.conf.py gives its workers one multiprocess directory; /metrics/ sums them."""
    metrics_dir = tmp_path / "prometheus"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with gunicorn_server(str(tmp_path / "instance"), env, workers=2) as base:
        parts = urllib.parse.urlsplit(base)
        for _ in range(40):
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            connection.request("GET", "/robots.txt")  # (the start-up wait probes /health/live/)
            assert connection.getresponse().read()
            connection.close()
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        connection.request("GET", "/metrics/")
        text = connection.getresponse().read().decode()
        connection.close()
        writers = {re.sub(r"\D", "", f.name) for f in metrics_dir.glob("counter_*.db")}
    served = metric(text, "eventmate_http_requests_total",
                    endpoint="main.robots", method="GET", status="200")  # fmt: skip
    assert served == 40
    assert len(writers) == 2  # both workers served some of them


# Request ids, timing and logs ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/no-such-page/", "/me/bookings/", "/static/css/site.css"])
def test_every_response_has_a_request_id_and_server_timing(client, db_session, path):
    with client.get(path) as response:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
        assert re.match(r"app;dur=\d+\.\d+", response.headers["Server-Timing"])


def test_a_well_formed_incoming_request_id_is_kept(client, db_session):
    kept = client.get("/", headers={"X-Request-ID": "edge-42.a_b"})
    assert kept.headers["X-Request-ID"] == "edge-42.a_b"
    forged = client.get("/", headers={"X-Request-ID": "x" * 500})
    assert forged.headers["X-Request-ID"] != "x" * 500


def test_slow_requests_are_logged_with_their_request_id(app, client, db_session, caplog):
    app.config["SLOW_REQUEST_SECONDS"] = 0
    try:
        with caplog.at_level(logging.WARNING, logger="eventmate.requests"):
            client.get("/events/", headers={"X-Request-ID": "slow-1"})
    finally:
        app.config["SLOW_REQUEST_SECONDS"] = 1.0
    (record,) = [r for r in caplog.records if r.name == "eventmate.requests"]
    assert record.levelno == logging.WARNING
    assert re.fullmatch(
        r"slow request: GET /events/ 200 \d+ ms \(request id slow-1\)", record.getMessage()
    )


@pytest.fixture
def reconfigured_logging(app):
    saved = {k: app.config[k] for k in ("LOG_FORMAT", "LOG_FILE")}
    yield app.config
    app.config.update(saved)
    configure_logging(app)


def test_json_log_lines_carry_the_request_id(app, client, db_session, capsys,
                                             reconfigured_logging):  # fmt: skip
    reconfigured_logging["LOG_FORMAT"] = "json"
    configure_logging(app)
    app.config["SLOW_REQUEST_SECONDS"] = 0
    try:
        client.get("/", headers={"X-Request-ID": "json-7"})
    finally:
        app.config["SLOW_REQUEST_SECONDS"] = 1.0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    slow = [line for line in lines if line["logger"] == "eventmate.requests"]
    assert slow[0]["request_id"] == "json-7"
    assert slow[0]["level"] == "WARNING"


def test_log_file_rotates_at_10_mb_keeping_10(app, tmp_path, reconfigured_logging):
    reconfigured_logging["LOG_FILE"] = str(tmp_path / "eventmate.log")
    configure_logging(app)
    (handler,) = [
        h for h in logging.getLogger("eventmate").handlers if isinstance(h, RotatingFileHandler)
    ]
    assert (handler.maxBytes, handler.backupCount) == (10 * 1024 * 1024, 10)
    logging.getLogger("eventmate.test").info("written to the file")
    handler.flush()
    assert "written to the file" in (tmp_path / "eventmate.log").read_text()


def test_errors_are_logged_with_traceback_but_not_shown(app, tmp_path, caplog):
    from config import TestConfig
    from eventmate import create_app

    other = create_app(TestConfig, instance_path=str(tmp_path))
    other.config["PROPAGATE_EXCEPTIONS"] = False  # as in production

    @other.get("/boom-for-test/")
    def boom():
        raise RuntimeError("kaboom secret detail")

    try:
        response = other.test_client().get("/boom-for-test/")
    finally:
        configure_logging(app)
    assert response.status_code == 500
    assert "kaboom" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    (record,) = [r for r in caplog.records if r.name == "eventmate.errors"]
    assert record.exc_info
    assert "kaboom secret detail" in str(record.exc_info[1])


def test_a_bad_metrics_network_is_refused_at_start_up():
    with pytest.raises(ConfigError, match="METRICS_ALLOWED_NETWORKS"):
        allowed_networks("10.0.0.0/8, not-a-network")
