"""The production edge, a real nginx (deploy/nginx/), in front of a real gunicorn: what it
caches and never caches, its purges, limits, static files, redirects and error pages."""

from __future__ import annotations

import gzip
import http.client
import itertools
import json
import re
import ssl
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import brotli
import pytest
from flask_migrate import upgrade

from eventmate.extensions import db
from tests.conftest import PASSWORD, app_for_database, fresh_database
from tests.edge import Edge, edge_server
from tests.factories import make_event, make_member
from tests.live import ROOT, Browser, free_port, gunicorn_process
from tests.test_static_files import SITE_CSS, static_app

MEMBER = ("mina@example.com", "Mina Member")
EDGE_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
_client_numbers = itertools.count(1)


@dataclass
class Site:
    edge: Edge
    slug: str  # an event with 40 seats
    static: Path  # the compiled static folder nginx serves

    def browser(self, scheme: str = "https") -> Browser:
        """A new client, from an address of its own (the per-IP limit is per client)."""
        ip = f"198.51.100.{next(_client_numbers)}"
        base = self.edge.https if scheme == "https" else self.edge.http
        return Browser(base, headers={"X-Forwarded-For": ip}, cafile=self.edge.cert)


@pytest.fixture(scope="module")
def compiled_static() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="eventmate-edge-static-"))
    folder.chmod(0o755)
    app = static_app(folder, compile_assets=True)
    return Path(app.static_folder)


@contextmanager
def serve(url: str, static: Path, app_env: dict | None = None, **edge_settings) -> Iterator[Edge]:
    """gunicorn (2 workers, test config) on database `url`, behind an edge; the Edge's
    `.upstream` is gunicorn's master process."""
    with ExitStack() as stack:
        instance = tempfile.mkdtemp(prefix="eventmate-edge-instance-")
        purge_port = free_port()
        env = {
            "TEST_DATABASE_URL": url,
            "TEST_PAGE_CACHE_SECONDS": "60",
            "TEST_PROXY_FIX_HOPS": "1",
            "TEST_SITE_HOSTS": "127.0.0.1,localhost",
            "TEST_EDGE_PURGE_URLS": f"http://127.0.0.1:{purge_port}",
            **(app_env or {}),
        }
        upstream = stack.enter_context(gunicorn_process(instance, env, workers=2))
        media = Path(instance) / "media"
        media.mkdir(parents=True, exist_ok=True)
        edge = stack.enter_context(
            edge_server(upstream.base_url.removeprefix("http://"), str(static), str(media),
                        purge_port, **edge_settings)
        )  # fmt: skip
        edge.upstream = upstream
        yield edge


@pytest.fixture(scope="module")
def site(app, compiled_static) -> Iterator[Site]:
    with fresh_database(app) as url, app_for_database(url, tempfile.mkdtemp()) as data_app:
        with data_app.app_context():
            upgrade()
            slug = make_event(title="Harbour Jazz Night", capacity=40).slug
            make_member(email=MEMBER[0], display_name=MEMBER[1])
            db.session.commit()
            db.session.remove()
        with serve(url, compiled_static, EDGE_RATE="100r/m", EDGE_BURST="30") as edge:
            yield Site(edge, slug, compiled_static)


def cache_status(headers) -> str | None:
    return headers.get("X-Cache-Status")


def seats_left(page: str) -> int:
    return int(re.search(r"(\d+) of 40 seats left", page).group(1))


def raw_get(edge: Edge, path: str, headers: dict) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=edge.cert)
    host, port = edge.https.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(host, int(port), timeout=30, context=context)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def assert_edge_headers(headers) -> None:
    for name, value in EDGE_HEADERS.items():
        assert headers.get(name) == value, name
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers.get("Server", "nginx") == "nginx"  # no version


def test_the_second_anonymous_visit_is_a_hit(site):
    visitor = site.browser()
    url = "/events/?q=harbour"
    first, second = visitor.get(url), visitor.get(url)
    assert (first[0], second[0]) == (200, 200)
    assert (cache_status(first[1]), cache_status(second[1])) == ("MISS", "HIT")
    assert "Harbour Jazz Night" in second[2]
    assert second[1]["Strict-Transport-Security"]  # the app's own headers, kept
    assert "Set-Cookie" not in second[1]


def test_a_request_with_the_session_cookie_bypasses_the_cache(site):
    url = "/events/?q=bypass"
    site.browser().get(url)
    member = site.browser()
    member.log_in(*[MEMBER[0], PASSWORD])
    status, headers, page = member.get(url)
    assert (status, cache_status(headers)) == (200, "BYPASS")
    assert MEMBER[1] in page
    assert headers["Cache-Control"] == "private, no-store"


def test_a_visitor_with_a_message_to_see_bypasses_the_cache(site):
    """A visitor's session is a cookie of its own (visitor_session); a flash message in it
    must be shown, not a cached page without it."""
    url = f"/events/{site.slug}/"
    visitor = site.browser()
    visitor.get(url)
    assert cache_status(visitor.get(url)[1]) == "HIT"
    token = visitor.hidden_fields("/login/")["csrf_token"]
    status, headers, _ = visitor.post(f"/events/{site.slug}/book/", {"csrf_token": token})
    assert status == 302  # to the login page, with "Log in or create an account to book."
    assert "visitor_session" in visitor.cookies
    status, headers, page = visitor.get(url)  # the page that was a hit a moment ago
    assert status == 200
    assert "Log in or create an account to book" in page
    assert cache_status(headers) == "BYPASS"


def test_what_is_never_stored(site):
    visitor = site.browser()
    for _ in range(2):  # a response with Set-Cookie (the form's CSRF token)
        status, headers, _ = site.browser().get("/login/")
        assert status == 200
        assert "Set-Cookie" in headers
        # Not a page the app ever marks public: not even looked up (nor queued behind the
        # cache's lock with every other visitor asking for it at the same moment).
        assert cache_status(headers) == "BYPASS"
    for _ in range(2):  # a 404
        status, headers, _ = visitor.get("/events/no-such-event/")
        assert (status, cache_status(headers)) == (404, "MISS")
    posted = visitor.post("/events/?q=posted", {"q": "x"})  # not a GET
    assert posted[0] in (400, 405)
    assert cache_status(visitor.get("/events/?q=posted")[1]) == "MISS"
    member = site.browser()
    member.log_in(MEMBER[0], PASSWORD)
    own = member.get("/me/bookings/")
    assert (own[0], cache_status(own[1])) == (200, "BYPASS")
    status, headers, _page = visitor.get("/me/bookings/")  # a personal page, anonymously
    assert status == 302
    assert "/login/" in headers["Location"]


def test_anonymous_pages_hold_nothing_of_a_member_who_browsed_first(site):
    member = site.browser()
    member.log_in(MEMBER[0], PASSWORD)
    urls = ["/", "/events/", f"/events/{site.slug}/", "/events/?q=night"]
    for url in urls:
        assert MEMBER[1] in member.get(url)[2]
    visitor = site.browser()
    for url in urls:
        for _ in range(2):
            status, headers, page = visitor.get(url)
            assert status == 200, url
            assert MEMBER[1] not in page, url
            assert "csrf_token" not in page, url
            assert "request_token" not in page, url
        assert cache_status(headers) == "HIT", url


def test_a_booking_refreshes_its_event_page_at_the_edge(site):
    url = f"/events/{site.slug}/"
    visitor = site.browser()
    visitor.get(url)
    status, headers, page = visitor.get(url)
    assert cache_status(headers) == "HIT"
    before = seats_left(page)
    member = site.browser()
    member.log_in(MEMBER[0], PASSWORD)
    fields = member.hidden_fields(url)
    status, _, _ = member.post(f"/events/{site.slug}/book/", {**fields, "quantity": "2"})
    assert status in (302, 303)
    status, headers, page = visitor.get(url)
    assert cache_status(headers) == "MISS"  # purged
    assert seats_left(page) == before - 2


def test_the_limit_answers_429_in_the_sites_style_but_never_on_health_checks(site):
    visitor = site.browser()
    statuses = []
    for _ in range(40):  # a burst of 30 over 100/minute, all of them cached pages
        status, headers, page = visitor.get("/events/?q=limit")
        statuses.append(status)
    assert statuses[:30] == [200] * 30
    assert statuses[-1] == 429
    assert int(headers["Retry-After"]) > 0
    assert "Too many requests" in page
    assert "/static/css/site.css" in page
    assert_edge_headers(headers)
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert {visitor.get("/health/")[0] for _ in range(40)} == {200}
    plain = site.browser("http")
    plain.headers = visitor.headers
    assert {plain.get("/health/live/")[0] for _ in range(10)} == {200}


def test_one_copy_of_a_page_is_kept_however_its_url_is_spelled(site):
    """Junk in the URL can't fill the cache: other spellings of a page's URL are redirected to
    it, invalid values are answered (with a notice) but not stored, unknown hosts refused."""
    visitor = site.browser()
    canonical = "/events/?q=spelling"
    for spelling in ("/events/?q=spelling&utm_source=x", "/events/?city=&q=spelling",
                     "/events/?q=%73pelling", "/events/?q=spelling&sort=relevance"):  # fmt: skip
        for _ in range(2):
            status, headers, _ = visitor.get(spelling)
            assert status == 302, spelling
            assert headers["Location"].endswith(canonical)
            assert cache_status(headers) != "HIT"
    assert cache_status(visitor.get(canonical)[1]) == "MISS"
    assert cache_status(visitor.get(canonical)[1]) == "HIT"
    for invalid, notice in (("/events/?page=aaaa", "page number doesn"),
                            ("/events/?category=nope", "no category"),
                            ("/events/?q=" + "x" * 1000, "shortened")):  # fmt: skip
        for _ in range(2):
            status, headers, page = visitor.get(invalid)
            assert status == 200
            assert notice in page
            assert cache_status(headers) == "MISS"  # answered every time, never stored
    for _ in range(2):
        status, headers, page = visitor.request("GET", "/", headers={"Host": "attacker.example"})
        assert status == 400
        assert "not served under that host name" in page
        assert cache_status(headers) != "HIT"


def test_an_ipv6_client_is_limited_by_its_64(site):
    """Each request from another address of one /64 (as nginx writes them, compressed or not)
    still spends the one budget; the neighbouring /64 has its own."""
    visitor = site.browser()
    addresses = [f"2001:db8:0:7::{n:x}" for n in range(1, 20)]
    addresses += [f"2001:db8:0:7:{n:x}:1:2:3" for n in range(1, 21)]
    statuses = []
    for address in [*addresses, "2001:db8:0:7:ffff::"]:
        visitor.headers = {"X-Forwarded-For": address}
        statuses.append(visitor.get("/events/?q=six")[0])
    assert statuses[:30] == [200] * 30  # the burst
    assert statuses[-1] == 429
    visitor.headers = {"X-Forwarded-For": "2001:db8:0:8::1"}
    assert visitor.get("/events/?q=six")[0] == 200


def test_static_files_are_immutable_and_precompressed(site):
    manifest = json.loads((site.static / "cache_manifest.json").read_text())
    path = "/static/" + manifest["css/site.css"]
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        response = raw_get(site.edge, path, {"Accept-Encoding": encoding})
        assert response.status == 200
        assert response.headers["Content-Encoding"] == encoding
        assert decode(response.body) == SITE_CSS
        assert response.headers.get_all("Vary") == ["Accept-Encoding"]
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert_edge_headers(response.headers)
    plain = raw_get(site.edge, path, {})
    assert (plain.body, plain.headers["Content-Encoding"]) == (SITE_CSS, None)
    assert raw_get(site.edge, path + ".br", {}).status == 404
    assert "immutable" not in raw_get(site.edge, "/static/css/site.css", {}).headers[
        "Cache-Control"
    ]


def test_plain_http_redirects_to_https_except_health_checks(site):
    status, headers, _ = site.browser("http").get("/events/?q=x")
    assert status == 301
    assert headers["Location"] == f"{site.edge.https}/events/?q=x"
    status, headers, body = site.browser("http").get("/health/")
    assert (status, json.loads(body)["status"]) == (200, "ok")


def test_with_gunicorn_stopped_cached_pages_stay_and_others_get_the_sites_502(
    app, compiled_static
):
    with fresh_database(app) as url:
        with app_for_database(url, tempfile.mkdtemp()) as data_app, data_app.app_context():
            upgrade()
        # Listings kept one second, so the cached copy is stale when the app is gone.
        with serve(url, compiled_static, {"TEST_PAGE_CACHE_SECONDS": "1"}) as edge:
            visitor = Browser(edge.https, cafile=edge.cert)
            assert visitor.get("/events/")[0] == 200
            edge.upstream.terminate()
            edge.upstream.wait(timeout=30)
            time.sleep(1.5)
            status, headers, page = visitor.get("/events/")
            assert (status, cache_status(headers)) == (200, "STALE")
            status, headers, page = visitor.get("/events/?q=never-cached")
            assert status == 502
            assert "EventMate is briefly unavailable" in page
            assert_edge_headers(headers)


def test_a_calendar_feed_key_never_reaches_the_access_logs(app, compiled_static, tmp_path):
    """The key opens a member's bookings to whoever holds it: blanked in nginx's and
    gunicorn's access logs alike."""
    edge_log, app_log = tmp_path / "edge-access.log", tmp_path / "app-access.log"
    with fresh_database(app) as url:
        with app_for_database(url, tempfile.mkdtemp()) as data_app, data_app.app_context():
            upgrade()
        app_env = {"GUNICORN_ACCESS_LOG": str(app_log)}
        with serve(url, compiled_static, app_env, EDGE_ACCESS_LOG=str(edge_log)) as edge:
            visitor = Browser(edge.https, cafile=edge.cert)
            status, _, _ = visitor.get("/me/bookings.ics?x=1&key=S3cretFeedKey.abc&y=2")
            assert status == 404  # not a valid key: it still must not be logged
            for log in (edge_log, app_log):
                found = ""
                for _ in range(100):  # nginx writes its buffer out every second
                    found = log.read_text() if log.exists() else ""
                    if "bookings.ics" in found:
                        break
                    time.sleep(0.1)
                assert "/me/bookings.ics?x=1&key=[redacted]&y=2" in found, log.name
                assert "S3cretFeedKey" not in found, log.name


def compressed_spellings(groups: list[int]) -> list[str]:
    """Every way an IPv6 address can be written with or without "::" over a run of zeros (nginx
    compresses even a single zero group; RFC 5952 writers don't)."""
    spellings = [":".join(f"{group:x}" for group in groups)]
    for start in range(8):
        for end in range(start + 1, 9):
            if all(group == 0 for group in groups[start:end]):
                head = ":".join(f"{group:x}" for group in groups[:start])
                tail = ":".join(f"{group:x}" for group in groups[end:])
                spellings.append(f"{head}::{tail}")
    return spellings


def test_the_edges_ipv6_rules_give_one_key_per_64():
    """render.py's map rules, run as Python regexes over every spelling of many addresses:
    each gives its /64's four groups, so a subscriber's addresses share one budget."""
    import importlib.util
    import random

    spec = importlib.util.spec_from_file_location("render", ROOT / "deploy/nginx/render.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    rules = [(re.compile(pattern.replace("(?<", "(?P<")), value)
             for pattern, value in render.ipv6_client_rules()]  # fmt: skip

    def key(address: str) -> str | None:
        for pattern, value in rules:
            found = pattern.match(address)
            if found:
                for name, text in found.groupdict().items():
                    value = value.replace(f"${name}", text or "")
                return value
        return None

    chosen = random.Random(64)
    for _ in range(3000):
        groups = [chosen.choice([0, 0, chosen.randrange(65536)]) for _ in range(8)]
        prefix = ":".join(f"{group:x}" for group in groups[:4])
        for spelling in compressed_spellings(groups):
            assert key(spelling) == prefix, spelling
    assert key("2001:db8::1") == key("2001:db8:0:0:ffff::2") == "2001:db8:0:0"
    assert key("::1") == "0:0:0:0"
    assert key("203.0.113.9") is None  # IPv4: nginx's default, the binary address


def purge_from(edge: Edge, source: str) -> int:
    """A PURGE sent to the edge's purge listener from the local address `source`."""
    port = int(edge.purge_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("PURGE", "/events/", headers={"Host": "localhost"})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("allow", "allowed", "refused"),
    [(None, "127.0.0.1", "127.0.0.2"), ("127.0.0.2/32,10.0.0.0/8", "127.0.0.2", "127.0.0.1")],
)
def test_only_the_app_hosts_may_purge(compiled_static, allow, allowed, refused):
    """Loopback by default; EDGE_PURGE_ALLOW names the app hosts when they are other machines
    (here another loopback address stands for one)."""
    settings = {"EDGE_PURGE_ALLOW": allow} if allow else {}
    media = tempfile.mkdtemp()
    with edge_server("127.0.0.1:9", str(compiled_static), media, free_port(), **settings) as edge:
        assert purge_from(edge, allowed) == 404  # let through: nothing was cached under it
        assert purge_from(edge, refused) == 403
