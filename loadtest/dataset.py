"""The load-test database: seeding it, sampling request inputs from it, checking it afterwards."""

from __future__ import annotations

import http.client
import itertools
import json
import random
import re
import subprocess
import urllib.parse
from dataclasses import asdict, dataclass
from http.cookies import SimpleCookie
from itertools import accumulate
from pathlib import Path

from sqlalchemy import create_engine, text

from config import normalise_database_url

ROOT = Path(__file__).resolve().parent.parent
WHEN = ["today", "tomorrow", "this-weekend", "next-7-days", "this-month"]
SORTS = ["date", "newest", "price"]
HIDDEN = re.compile(r'name="([a-z_]+)" type="hidden" value="([^"]*)"')
# Page mix of the browsing users (the same weights as loadtest/locustfile.py's Visitor tasks).
PAGE_WEIGHTS = {"home": 10, "search": 30, "city": 15, "category": 10, "event": 35}
MEMBER_SHARE = 0.25
ANON_EVENT_SHARE = 0.6  # anon-mix: event pages; the rest searches


def flask(env: dict[str, str], *args: str) -> None:
    """Run a `flask` command of the app under test (the project's virtualenv)."""
    command = [str(ROOT / ".venv" / "bin" / "flask"), *args]
    subprocess.run(command, cwd=ROOT, env={**env, "FLASK_APP": "wsgi"}, check=True)


def accounts(env: dict[str, str], members: int, hosts: int) -> None:
    """Create or reset the load-test accounts (loadtest/accounts.py) in this database."""
    command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "loadtest.accounts",
               "--members", str(members), "--hosts", str(hosts),
               "--password-env", "LOADTEST_PASSWORD"]  # fmt: skip
    database = {"LOADTEST_DATABASE_URL": env["DATABASE_URL"]}
    subprocess.run(command, cwd=ROOT, env={**env, **database}, check=True)


def engine(database_url: str):
    return create_engine(normalise_database_url(database_url), pool_size=1, max_overflow=0)


def event_count(database_url: str) -> int:
    with engine(database_url).connect() as connection:
        exists = connection.execute(text("SELECT to_regclass('public.events')")).scalar()
        if exists is None:
            return 0
        return connection.execute(text("SELECT count(*) FROM events")).scalar()


def prepare(env: dict[str, str], events: int, members: int, hosts: int) -> None:
    """Migrate; bulk-seed once (the database is kept between runs); reset the accounts."""
    database_url = env["DATABASE_URL"]
    flask(env, "db", "upgrade")
    count = event_count(database_url)
    if count == 0:
        print(f"==> Seeding the load-test database with {events:,} events (once; ~1 min)")
        flask(env, "seed", "bulk", "--events", str(events))
    else:
        print(f"==> Load-test database has {count:,} events (already seeded)")
    accounts(env, members, hosts)
    flask(env, "digest", "compile")


@dataclass
class Sample:
    """Real values to build requests from."""

    events: list[str]  # upcoming, active
    bookable: list[str]  # upcoming, seats left, not a load-test host's (they get edited)
    cities: list[str]
    categories: list[str]
    words: list[str]
    when: list[str]


def load_sample(database_url: str, seed: int) -> Sample:
    with engine(database_url).connect() as connection:
        connection.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})

        def column(sql: str) -> list[str]:
            return list(connection.execute(text(sql)).scalars())

        events = column(
            "SELECT slug FROM events WHERE is_active AND starts_at > now() "
            "+ interval '2 hours' ORDER BY random() LIMIT 3000"
        )
        bookable = column(
            "SELECT e.slug FROM events e JOIN users u ON u.id = e.host_id "
            "WHERE e.is_active AND e.starts_at > now() + interval '1 day' "
            "AND e.seats_booked < e.capacity AND u.email NOT LIKE 'loadtest-%' "
            "ORDER BY random() LIMIT 2000"
        )
        cities = column(  # busiest first: popular() favours the front of the list
            "SELECT c.slug FROM cities c JOIN events e ON e.city_id = c.id "
            "GROUP BY c.slug ORDER BY count(*) DESC, c.slug"
        )
        categories = column("SELECT DISTINCT category FROM events ORDER BY 1")
        titles = column("SELECT title FROM events ORDER BY random() LIMIT 5000")
    words = sorted({w.lower() for t in titles for w in re.findall(r"[A-Za-z]{4,}", t)})
    if not (events and bookable and cities and categories and words):
        raise RuntimeError("the load-test database has no upcoming events to sample")
    return Sample(events, bookable, cities, categories, words, WHEN)


def write_locust_data(sample: Sample, path: Path) -> None:
    path.write_text(json.dumps(asdict(sample)), encoding="utf-8")


def search_path(rng: random.Random, sample: Sample, always_query: bool = False) -> str:
    params: dict[str, str | int] = {}
    if always_query or rng.random() < 0.5:
        params["q"] = " ".join(rng.sample(sample.words, rng.choice((1, 1, 2))))
    if rng.random() < 0.3:
        params["category"] = rng.choice(sample.categories)
    if rng.random() < 0.4:
        params["city"] = rng.choice(sample.cities)
    if rng.random() < 0.3:
        params["when"] = rng.choice(sample.when)
    if rng.random() < 0.2:
        sort = rng.choice(SORTS)
        if sort != "date" or "q" in params:  # the default order is left out, as the site does
            params["sort"] = sort
    if rng.random() < 0.15:
        params["page"] = rng.choice((2, 2, 3, 4))
    return "/events/" + ("?" + urllib.parse.urlencode(params) if params else "")


def popular(rng: random.Random, items: list[str]) -> str:
    """Some pages are far more visited than others: the item at rank r with weight 1/r (Zipf),
    so the top 100 of 3,000 events draw about 60% of the views, as real traffic would."""
    cumulative = _ZIPF.get(len(items))
    if cumulative is None:
        cumulative = _ZIPF[len(items)] = list(
            accumulate(1 / rank for rank in range(1, len(items) + 1))
        )
    return rng.choices(items, cum_weights=cumulative)[0]


_ZIPF: dict[int, list[float]] = {}


def page_path(rng: random.Random, sample: Sample, kind: str) -> str:
    if kind == "home":
        return "/"
    if kind == "search":
        return search_path(rng, sample)
    if kind == "city":
        page = "?page=2" if rng.random() < 0.2 else ""
        return f"/cities/{popular(rng, sample.cities)}/{page}"
    if kind == "category":
        return f"/categories/{rng.choice(sample.categories)}/"
    return f"/events/{popular(rng, sample.events)}/"


def write_paths(sample: Sample, kind: str, path: Path, seed: int, lines: int = 20_000) -> Path:
    """A PATHS_FILE for loadtest/wrk/pages.lua.

    mix: the browsing page mix, a quarter of it logged in ("@member", plus /me/bookings/);
    events: anonymous event pages, popular ones more often (as for cities); search: searches
    with a text query, logged in (the edge never serves a member, and a search rarely
    repeats, so these are nearly all misses of the app's page cache too); anon: what visitors
    without a session mostly ask for, the two above anonymously, 60% event pages and 40%
    searches (a searched text rarely repeats, so the edge has most of those pages made
    anew)."""
    rng = random.Random(seed)
    kinds, weights = list(PAGE_WEIGHTS), list(PAGE_WEIGHTS.values())
    out = []
    for _ in range(lines):
        if kind == "events":
            out.append(page_path(rng, sample, "event"))
        elif kind == "anon":
            event = rng.random() < ANON_EVENT_SHARE
            out.append(
                page_path(rng, sample, "event")
                if event
                else search_path(rng, sample, always_query=True)
            )
        elif kind == "search":
            out.append("@member " + search_path(rng, sample, always_query=True))
        elif rng.random() < MEMBER_SHARE:
            member_page = rng.random() < 0.05
            page = (
                "/me/bookings/"
                if member_page
                else page_path(rng, sample, *rng.choices(kinds, weights))
            )
            out.append("@member " + page)
        else:
            out.append(page_path(rng, sample, *rng.choices(kinds, weights)))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


# --- over HTTP, as a client behind the load balancer would send it --------------------------

# Each request comes from a client IP of its own (10.98.x.y), so the edge's per-IP limit never
# adds up the runner's own requests (preflight, login) against one address.
_client_ips = itertools.count()


def http_request(base_url: str, method: str, path: str, headers: dict, body=None, context=None):
    """One request to gunicorn (http://, "through the proxy": X-Forwarded-*) or to the edge
    (https://, verified with `context`; nginx replaces X-Forwarded-Proto itself)."""
    url = urllib.parse.urlsplit(base_url)
    if url.scheme == "https":
        connection = http.client.HTTPSConnection(
            url.hostname, url.port, timeout=30, context=context
        )
    else:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    n = next(_client_ips) % 65536
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": f"10.98.{n // 256}.{n % 256}"}
    try:
        connection.request(method, path, body=body, headers={**proxy, **headers})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def take_cookies(headers, jar: dict[str, str]) -> dict[str, str]:
    for header in headers.get_all("Set-Cookie") or []:
        for name, morsel in SimpleCookie(header).items():
            jar[name] = morsel.value
    return jar


def login_cookie(base_url: str, email: str, password: str, context=None) -> str:
    """A real logged-in session: the Cookie header value a browser would send."""
    status, headers, page = http_request(base_url, "GET", "/login/", {}, context=context)
    jar = take_cookies(headers, {})
    token = dict(HIDDEN.findall(page)).get("csrf_token")
    if status != 200 or not token:
        raise RuntimeError(f"GET /login/ answered {status} without a CSRF token")
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password})
    origin = urllib.parse.urlsplit(base_url).netloc
    status, headers, _ = http_request(
        base_url,
        "POST",
        "/login/",
        {
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"https://{origin}/login/",  # Flask-WTF checks it on HTTPS
        },
        form,
        context,
    )
    if status not in (302, 303):
        raise RuntimeError(f"logging in {email} answered {status}")
    take_cookies(headers, jar)
    return "; ".join(f"{k}={v}" for k, v in jar.items())


# What the edge says (X-Cache-Status) about an anonymous page and a member's one.
ANONYMOUS_CACHE = {"HIT", "MISS", "EXPIRED", "STALE", "UPDATING", "REVALIDATED"}


def preflight(
    base_url: str, paths: Path, cookie: str, count: int = 25, context=None, edge: bool = False
) -> list[str]:
    """GET a few lines of a PATHS_FILE: each should be a 200 (wrk counts 3xx as success), and
    through the edge, an anonymous page cacheable and a member's page never from the cache."""
    lines = [line for line in paths.read_text().splitlines() if line]
    problems = []
    for line in random.Random(0).sample(lines, min(count, len(lines))):
        member = line.startswith("@member ")
        path = line.removeprefix("@member ")
        headers = {"Cookie": cookie} if member else {}
        status, response, _ = http_request(base_url, "GET", path, headers, context=context)
        cache = response.get("X-Cache-Status")
        expected = {"BYPASS"} if member else ANONYMOUS_CACHE
        if status != 200:
            problems.append(f"{status} for {line}")
        elif edge and cache not in expected:
            problems.append(f"X-Cache-Status {cache} for {line}")
    return problems


# --- afterwards -------------------------------------------------------------------------------

INTEGRITY_SQL = """
SELECT e.id, e.slug, e.seats_booked, e.capacity, coalesce(b.confirmed, 0) AS confirmed
FROM events e
LEFT JOIN (SELECT event_id, sum(quantity) AS confirmed FROM bookings
           WHERE status = 'confirmed' GROUP BY event_id) b ON b.event_id = e.id
WHERE e.seats_booked <> coalesce(b.confirmed, 0) OR e.seats_booked > e.capacity
   OR e.seats_booked < 0
ORDER BY e.id
"""


def integrity_problems(database_url: str) -> tuple[int, list[str]]:
    """(events checked, one line per event whose seats_booked is not its confirmed seats or
    exceeds its capacity)."""
    with engine(database_url).connect() as connection:
        checked = connection.execute(text("SELECT count(*) FROM events")).scalar()
        rows = connection.execute(text(INTEGRITY_SQL)).all()
    return checked, [
        f"event {r.id} ({r.slug}): seats_booked={r.seats_booked}, confirmed bookings="
        f"{r.confirmed}, capacity={r.capacity}"
        for r in rows
    ]
