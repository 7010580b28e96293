"""A real redis-server of our own, stopped and restarted under the cache; and a black hole."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from eventmate.resilience import CircuitBreaker, ResilientRedisCache, redis_client
from tests.conftest import app_for_database, fresh_database
from tests.live import free_port


class RedisServer:
    def __init__(self, tmp_path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: scripts/test installs it")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def make_cache(url: str, cool_down: float = 0.5) -> ResilientRedisCache:
    return ResilientRedisCache(
        host=redis_client(url), key_prefix="fault:", breaker=CircuitBreaker(cool_down)
    )


def timed(call):
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1000


def test_cache_survives_redis_stopping_and_resumes_when_it_returns(redis_server):
    cache = make_cache(redis_server.url)
    assert cache.set("k", "v")
    assert cache.get("k") == "v"

    redis_server.stop()
    first, _ = timed(lambda: cache.get("k"))
    assert first is None  # a miss, not an error
    results, elapsed = zip(*(timed(lambda: cache.get("k")) for _ in range(100)), strict=True)
    assert set(results) == {None}
    assert max(elapsed) < 5  # the open breaker answers at once
    assert cache.set("k2", "v2") is False

    redis_server.start()
    time.sleep(0.6)  # the cool-down passes; no restart of anything of ours
    assert cache.set("k3", "v3")
    assert cache.get("k3") == "v3"


def test_a_black_holed_redis_costs_one_timeout_then_nothing():
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(100)  # accepts TCP connections, never answers
    try:
        cache = make_cache(f"redis://127.0.0.1:{hole.getsockname()[1]}/0", cool_down=30)
        first, first_ms = timed(lambda: cache.get("k"))
        assert first is None
        assert first_ms < 1000
        _, later = zip(*(timed(lambda: cache.get("k")) for _ in range(50)), strict=True)
        assert max(later) < 5
    finally:
        hole.close()


def test_public_pages_answer_with_redis_stopped(app, redis_server, tmp_path, monkeypatch):
    from eventmate.resilience import COOL_DOWN

    monkeypatch.setenv("TEST_REDIS_URL", redis_server.url)
    with fresh_database(app) as url, app_for_database(url, str(tmp_path)) as other:
        from flask_migrate import upgrade

        with other.app_context():
            upgrade()
        other.config["PAGE_CACHE_SECONDS"] = 60
        client = other.test_client()
        assert client.get("/").status_code == 200
        redis_server.stop()
        for path in ("/", "/events/", "/events/?q=jazz", "/health/live/", "/health/ready/"):
            response = client.get(path)
            assert response.status_code == 200, path
        assert client.get("/health/ready/").json["checks"]["redis"] == "failing"

        redis_server.start()
        time.sleep(COOL_DOWN + 0.5)
        assert client.get("/health/ready/").json["checks"]["redis"] == "ok"


def test_sessions_degrade_to_anonymous_and_recover(app, redis_server, tmp_path, monkeypatch):
    from flask_migrate import upgrade

    from eventmate.auth.services import create_user
    from eventmate.resilience import COOL_DOWN
    from tests.conftest import PASSWORD, post_form

    monkeypatch.setenv("TEST_REDIS_URL", redis_server.url)
    with fresh_database(app) as url, app_for_database(url, str(tmp_path)) as other:
        with other.app_context():
            upgrade()
            create_user("rosa@example.com", PASSWORD, "Rosa Redis")
        client = other.test_client()
        login = {"email": "rosa@example.com", "password": PASSWORD}
        assert post_form(client, "/login/", login).status_code == 302
        assert "Rosa Redis" in client.get("/").get_data(as_text=True)

        redis_server.stop()
        home = client.get("/")  # carries the session cookie Redis can no longer read
        assert home.status_code == 200
        assert "Log in" in home.get_data(as_text=True)
        assert client.get("/me/bookings/").status_code == 302
        refused = client.get("/login/")
        assert refused.status_code == 503
        assert "Sign-in is temporarily unavailable" in refused.get_data(as_text=True)

        redis_server.start()
        time.sleep(COOL_DOWN + 0.5)
        assert post_form(client, "/login/", login).status_code == 302
        assert "Rosa Redis" in client.get("/").get_data(as_text=True)


def test_booking_with_redis_down_fails_cleanly_then_commits_after_sign_in(
    app, redis_server, tmp_path, monkeypatch
):
    """Sessions live in Redis: with it gone nobody is signed in, so a booking is refused with
    nothing written; once Redis is back the member signs in again and the same form books."""
    from flask_migrate import upgrade

    from eventmate.extensions import db
    from eventmate.models import Booking
    from eventmate.resilience import COOL_DOWN
    from tests.conftest import PASSWORD, booking_form
    from tests.factories import make_event, make_member

    monkeypatch.setenv("TEST_REDIS_URL", redis_server.url)
    with fresh_database(app) as url, app_for_database(url, str(tmp_path)) as other:
        with other.app_context():
            upgrade()
            make_member(email="bea@example.com", password=PASSWORD)
            slug = make_event(capacity=10).slug
            db.session.commit()

        def bookings() -> int:
            with other.app_context():
                return db.session.query(Booking).count()

        client = other.test_client()
        event_url = f"/events/{slug}/"
        form = booking_form(client, "bea@example.com", event_url, quantity=1)

        redis_server.stop()
        refused = client.post(f"{event_url}book/", data=form)
        # The CSRF token lived in the unreadable session: the form is refused, clearly.
        assert refused.status_code == 400
        assert "form expired" in refused.get_data(as_text=True)
        assert bookings() == 0

        redis_server.start()
        time.sleep(COOL_DOWN + 0.5)
        form = booking_form(client, "bea@example.com", event_url, quantity=1)
        booked = client.post(f"{event_url}book/", data=form)
        assert booked.status_code == 303
        assert bookings() == 1


def test_a_busy_pool_is_not_mistaken_for_redis_being_down(redis_server):
    """Every pooled connection in use means our own requests queue, not that Redis failed: the
    call falls back once, and the breaker stays closed for the next one."""
    cache = ResilientRedisCache(
        host=redis_client(redis_server.url, max_connections=1), key_prefix="busy:",
        breaker=CircuitBreaker(),
    )  # fmt: skip
    assert cache.set("k", "v")
    held = cache._write_client.connection_pool.get_connection()
    try:
        assert cache.get("k") is None
        assert cache.breaker.closed
    finally:
        cache._write_client.connection_pool.release(held)
    assert cache.get("k") == "v"
