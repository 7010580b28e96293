"""A real redis-server of our own, stopped and restarted under the cache; and a black hole."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis

from config import next_database
from eventmate.resilience import (
    CircuitBreaker,
    PoolExhausted,
    ResilientRedisCache,
    breaker_for,
    redis_client,
    redis_pool,
)
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


class StandIn:
    """A TCP port that accepts connections and never answers, counting who connected."""

    def __init__(self, port: int = 0) -> None:
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", port))
        self.socket.listen(100)
        self.socket.setblocking(False)
        self.accepted: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"

    def connections(self) -> int:
        while True:
            try:
                self.accepted.append(self.socket.accept()[0])
            except BlockingIOError:
                return len(self.accepted)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *_exc) -> None:
        for connection in self.accepted:
            connection.close()
        self.socket.close()


def eventually(check, timeout: float = 30.0) -> None:
    """Wait for a state, polling, with a generous time-out (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        time.sleep(0.1)


def test_cache_survives_redis_stopping_and_resumes_when_it_returns(redis_server):
    cache = make_cache(redis_server.url, cool_down=3)
    assert cache.set("k", "v")
    assert cache.get("k") == "v"

    redis_server.stop()
    assert cache.get("k") is None  # a miss, not an error
    assert not cache.breaker.closed
    with StandIn(redis_server.port) as stand_in:  # whatever answers on Redis's port now
        assert [cache.get("k") for _ in range(100)] == [None] * 100
        assert cache.set("k2", "v2") is False
        assert stand_in.connections() == 0  # the open breaker answers without trying Redis

    redis_server.start()
    eventually(lambda: cache.set("k3", "v3"))  # after the cool-down; nothing of ours restarted
    assert cache.get("k3") == "v3"


def test_a_black_holed_redis_costs_one_timeout_then_nothing():
    with StandIn() as hole:
        cache = make_cache(hole.url, cool_down=30)
        started = time.monotonic()
        assert cache.get("k") is None
        assert time.monotonic() - started < 10  # the short socket time-outs, not none at all
        tried = hole.connections()
        assert tried >= 1
        assert [cache.get("k") for _ in range(50)] == [None] * 50
        assert hole.connections() == tried  # the open breaker: not tried again


def redis_ready(client) -> bool:
    return client.get("/health/ready/").json["checks"]["redis"] == "ok"


def redis_back(client, url: str) -> bool:
    """Redis answers, and the app's breakers for it (cached data in `url`'s database, sessions
    in the next one) have cooled down, so the app uses it again."""
    urls = (url, next_database(url))
    return redis_ready(client) and all(breaker_for(each).closed for each in urls)


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
        eventually(lambda: redis_ready(client), timeout=COOL_DOWN + 30)


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
        eventually(lambda: redis_back(client, redis_server.url), timeout=COOL_DOWN + 30)
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
        eventually(lambda: redis_back(client, redis_server.url), timeout=COOL_DOWN + 30)
        form = booking_form(client, "bea@example.com", event_url, quantity=1)
        booked = client.post(f"{event_url}book/", data=form)
        assert booked.status_code == 303
        assert bookings() == 1


def test_a_busy_pool_is_not_mistaken_for_redis_being_down(redis_server):
    """Every pooled connection in use means our own requests queue, not that Redis failed: the
    call falls back once, and the breaker stays closed for the next one."""
    pool = redis_pool(redis_server.url, max_connections=1)
    cache = ResilientRedisCache(
        host=redis.Redis(connection_pool=pool), key_prefix="busy:", breaker=CircuitBreaker()
    )
    assert cache.set("k", "v")
    held = pool.get_connection()
    try:
        with pytest.raises(PoolExhausted):  # its own type: nobody reads redis-py's message
            pool.get_connection()
        assert cache.get("k") is None
        assert cache.breaker.closed
    finally:
        pool.release(held)
    assert cache.get("k") == "v"


def test_with_redis_down_rate_limits_count_in_memory(app, redis_server, tmp_path, monkeypatch):
    """Limits live in Redis; with it gone each process counts in its own memory instead, so
    requests are neither refused with errors nor let through without limit."""
    from flask_migrate import upgrade

    monkeypatch.setenv("TEST_REDIS_URL", redis_server.url)
    monkeypatch.setenv("TEST_RATELIMIT_ENABLED", "1")
    with fresh_database(app) as url, app_for_database(url, str(tmp_path)) as other:
        with other.app_context():
            upgrade()
        client = other.test_client()
        assert client.get("/robots.txt").status_code == 200

        redis_server.stop()
        statuses = [client.get("/robots.txt").status_code for _ in range(110)]
        # The default limit, 100 a minute: the one request counted in Redis is forgotten.
        assert statuses == [200] * 100 + [429] * 10
        refused = client.get("/robots.txt")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0


def test_registration_with_redis_down_says_sign_in_is_unavailable(
    app, redis_server, tmp_path, monkeypatch
):
    """Without the session store a new member could not stay signed in: the form says so at
    once (503), a form loaded before is refused without an account being made, and both work
    again once Redis is back."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from eventmate.extensions import db
    from eventmate.models import User
    from tests.conftest import PASSWORD, csrf_token
    from tests.mail import emails_to, site_links_in

    monkeypatch.setenv("TEST_REDIS_URL", redis_server.url)
    with fresh_database(app) as url, app_for_database(url, str(tmp_path)) as other:
        with other.app_context():
            upgrade()

        def accounts() -> int:
            with other.app_context():
                return db.session.scalar(select(func.count()).select_from(User))

        client = other.test_client()
        form = {"display_name": "Nia New", "email": "nia@example.com",
                "password": PASSWORD, "confirm": PASSWORD}  # fmt: skip
        token = csrf_token(client, "/register/")

        redis_server.stop()
        page = client.get("/register/")
        assert page.status_code == 503
        assert "Sign-in is temporarily unavailable" in page.get_data(as_text=True)
        # The form's token is in the visitor's cookie, so the form is read; but no account is
        # made that couldn't be signed in.
        refused = client.post("/register/", data={**form, "csrf_token": token})
        assert refused.status_code == 503
        assert "Sign-in is temporarily unavailable" in refused.get_data(as_text=True)
        assert accounts() == 0

        redis_server.start()
        eventually(lambda: redis_back(client, redis_server.url))
        registered = client.post(
            "/register/", data={**form, "csrf_token": csrf_token(client, "/register/")}
        )
        assert registered.status_code == 200  # "check your inbox"
        assert accounts() == 1
        [email] = emails_to(other, "nia@example.com", "verify_email")
        [link] = [link for link in site_links_in(email) if link.startswith("/account/confirm/")]
        assert client.get(link).status_code == 302  # confirmed, and signed in
        assert "Nia New" in client.get("/").get_data(as_text=True)
