"""EventMate's traffic model for Locust (run by `loadtest/run`; see loadtest/README.md).

Of the simulated users, 60% browse anonymously, 25% browse logged in, 10% book and sometimes
cancel, 3% are hosts editing their listings, and exactly one is the load balancer polling
/health/ready/ every second. Every user comes through the (simulated) proxy: each request says
`X-Forwarded-Proto: https` and carries one client IP per user in `X-Forwarded-For`, so the
per-IP rate limits apply as in production. Each logged-in user has an account of its own
(`python -m loadtest.accounts`), so the per-account limits apply as in production too.

Environment: LOADTEST_DATA (JSON sample of the seeded data, written by the runner),
LOADTEST_PASSWORD, LOADTEST_MEMBERS / LOADTEST_HOSTS (accounts available to Locust),
LOADTEST_THINK ("1-3": seconds between a user's actions), LOADTEST_CA (the edge's self-signed
certificate, to verify it against, for an https:// host), LOADTEST_CACHE_COUNTS (a file to
write the responses counted by X-Cache-Status to, at the end).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections import Counter
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

import gevent.ssl
from locust import FastHttpUser, between, constant_pacing, events, task
from locust.exception import StopUser

from loadtest.forms import form_fields

DATA = json.loads(Path(os.environ["LOADTEST_DATA"]).read_text(encoding="utf-8"))
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "")
MEMBERS = int(os.environ.get("LOADTEST_MEMBERS", "600"))
HOSTS = int(os.environ.get("LOADTEST_HOSTS", "30"))
THINK_MIN, THINK_MAX = (float(x) for x in os.environ.get("LOADTEST_THINK", "1-3").split("-"))
SORTS = ("date", "newest", "price")
WHEN = DATA["when"]  # eventmate/events/filters.py WHEN_CHOICES
EVENT_LINK = re.compile(r'href="/events/([a-z0-9-]+)/"')
EDIT_LINK = re.compile(r'href="/host/events/([a-z0-9-]+)/edit/"')
BOOKING_LINK = re.compile(r"^/bookings/([A-Za-z0-9-]+)/$")
EDIT_MARK = " (updated)"
CA_FILE = os.environ.get("LOADTEST_CA")
CACHE_COUNTS = os.environ.get("LOADTEST_CACHE_COUNTS")

# Popular pages draw most views: the item at rank r has weight 1/r (Zipf), as in the wrk lists.
_ZIPF = {
    name: list(itertools.accumulate(1 / rank for rank in range(1, len(DATA[name]) + 1)))
    for name in ("events", "cities")
}


def popular(name: str) -> str:
    return random.choices(DATA[name], cum_weights=_ZIPF[name])[0]


# Users are numbered as they start: the number picks the client IP and the account.
_user_numbers = itertools.count()
_member_numbers = itertools.count(1)
_host_numbers = itertools.count(1)


def edge_tls_context(cafile=None) -> gevent.ssl.SSLContext:
    """Verify the edge against its own self-signed certificate (LOADTEST_CA): geventhttpclient
    asks for a context with its CA bundle (`cafile`), which can't know that certificate."""
    return gevent.ssl.create_default_context(cafile=CA_FILE)


class Verified(FastHttpUser):
    """Over TLS (through the edge) the certificate is checked, host name (127.0.0.1) included."""

    abstract = True
    insecure = not CA_FILE
    ssl_context_factory = staticmethod(edge_tls_context) if CA_FILE else None


# Responses by X-Cache-Status ("-": none, e.g. straight from gunicorn), for the report.
cache_counts: Counter[str] = Counter()


@events.request.add_listener
def count_cache_status(response=None, **_) -> None:
    headers = getattr(response, "headers", None)
    cache_counts[(headers.get("X-Cache-Status") if headers else None) or "-"] += 1


@events.quitting.add_listener
def write_cache_counts(**_) -> None:
    if CACHE_COUNTS:
        Path(CACHE_COUNTS).write_text(json.dumps(cache_counts), encoding="utf-8")


class BehindTheProxy(DefaultCookiePolicy):
    """With --direct, TLS ends at the (simulated) proxy, so this plain-HTTP hop must carry
    Secure cookies too (geventhttpclient's jar holds them back, as a browser would over HTTP)."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True


class Client(Verified):
    """One person behind the proxy: its client IP, cookies, pages and forms."""

    abstract = True
    wait_time = between(THINK_MIN, THINK_MAX)
    network_timeout = 30.0
    connection_timeout = 10.0
    tag = ""  # appended to request names, to tell logged-in pages apart

    def __init__(self, environment) -> None:
        number = next(_user_numbers)
        self.client_ip = f"10.{100 + number // 65536}.{number // 256 % 256}.{number % 256}"
        self.default_headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.client_ip,
            "Accept-Encoding": "br, gzip",
            "User-Agent": "EventMate-loadtest/1 (Locust)",
        }
        super().__init__(environment)
        self.client.cookiejar.set_policy(BehindTheProxy())
        self.seen_events: list[str] = []  # slugs linked from the last listing page

    def page(self, path: str, name: str, tagged: bool = True):
        """GET a page that must answer 200; returns the response (its text may be empty)."""
        name += self.tag if tagged else ""
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")
            return response

    def post_form(self, path: str, fields: dict, name: str, expect=(303,), referer=None):
        """POST as a browser does: urlencoded, with the Referer Flask-WTF checks over HTTPS."""
        host = urlsplit(self.host).netloc
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"https://{host}{referer or path}",
        }
        response = self.client.post(
            path,
            data=urlencode(fields),
            headers=headers,
            name=name,
            allow_redirects=False,
            catch_response=True,
        )
        with response:
            if response.status_code not in expect:
                response.failure(f"{response.status_code} for POST {path}, expected {expect}")
            else:
                response.success()
        return response

    def log_in(self, email: str) -> bool:
        login = self.page("/login/", "/login/", tagged=False)
        token = form_fields(login.text or "", "/login/").get("csrf_token")
        if not token:
            return False
        fields = {"csrf_token": token, "email": email, "password": PASSWORD, "next": ""}
        response = self.post_form("/login/", fields, "/login/", expect=(302, 303))
        return response.status_code in (302, 303)

    def remember_events(self, html: str | None) -> None:
        slugs = EVENT_LINK.findall(html or "")
        if slugs:
            self.seen_events = slugs

    def some_event(self) -> str:
        """Half the time an event the last listing showed (a click), else any upcoming one."""
        if self.seen_events and random.random() < 0.5:
            return random.choice(self.seen_events)
        return popular("events")

    def log_in_member(self) -> None:
        """Log in with an account of this user's own (loadtest-member-N@example.com)."""
        number = (next(_member_numbers) - 1) % MEMBERS + 1
        if not self.log_in(f"loadtest-member-{number}@example.com"):
            raise StopUser  # the failed login is in the statistics


class Visitor(Client):
    """Browsing: the home page, search, city and category pages, event pages."""

    abstract = True

    @task(10)
    def home(self):
        self.remember_events(self.page("/", "/").text)

    @task(30)
    def search(self):
        params = {}
        if random.random() < 0.5:
            params["q"] = " ".join(random.sample(DATA["words"], random.choice((1, 1, 2))))
        if random.random() < 0.3:
            params["category"] = random.choice(DATA["categories"])
        if random.random() < 0.4:
            params["city"] = random.choice(DATA["cities"])
        if random.random() < 0.3:
            params["when"] = random.choice(WHEN)
        if random.random() < 0.2:
            params["sort"] = random.choice(SORTS)
        if random.random() < 0.15:
            params["page"] = random.choice((2, 2, 3, 4))
        path = "/events/" + ("?" + urlencode(params) if params else "")
        self.remember_events(self.page(path, "/events/?[search]").text)

    @task(15)
    def city(self):
        path = f"/cities/{popular('cities')}/"
        if random.random() < 0.2:
            path += "?page=2"
        self.remember_events(self.page(path, "/cities/[slug]/").text)

    @task(10)
    def category(self):
        path = f"/categories/{random.choice(DATA['categories'])}/"
        self.remember_events(self.page(path, "/categories/[slug]/").text)

    @task(35)
    def event(self):
        self.page(f"/events/{self.some_event()}/", "/events/[slug]/")


class AnonymousVisitor(Visitor):
    weight = 60


class LoggedInVisitor(Visitor):
    weight = 25
    tag = " [member]"

    def on_start(self):
        self.log_in_member()

    @task(5)
    def my_bookings(self):
        self.page("/me/bookings/", "/me/bookings/", tagged=False)


class Booker(Client):
    """Opens an event, books one seat, looks at the booking and sometimes cancels it."""

    weight = 10

    def on_start(self):
        self.log_in_member()

    @task
    def book_and_maybe_cancel(self):
        slug = random.choice(DATA["bookable"])
        event_path = f"/events/{slug}/"
        page = self.page(event_path, "/events/[slug]/ [member]")
        book_path = f"/events/{slug}/book/"
        fields = form_fields(page.text or "", book_path)
        if "request_token" not in fields:
            return  # sold out, started or gone: nothing to book here (counted as a page view)
        self.wait()
        booking = self.post_form(
            book_path,
            {
                "csrf_token": fields["csrf_token"],
                "request_token": fields["request_token"],
                "quantity": "1",
            },
            "/events/[slug]/book/",
            expect=(303, 409),  # 409: the last seat went to someone else, as it may
            referer=event_path,
        )
        location = urlsplit(booking.headers.get("Location") or "").path
        if booking.status_code != 303 or not BOOKING_LINK.match(location):
            return
        detail = self.page(location, "/bookings/[ref]/")
        if random.random() < 0.5:
            return
        cancel_path = location + "cancel/"
        if f'href="{cancel_path}"' not in (detail.text or ""):
            return
        self.wait()
        confirm = self.page(cancel_path, "/bookings/[ref]/cancel/ [confirm]")
        cancel = form_fields(confirm.text or "", cancel_path)
        if "csrf_token" in cancel:
            self.wait()
            self.post_form(cancel_path, cancel, "/bookings/[ref]/cancel/", referer=location)
            self.page("/me/bookings/", "/me/bookings/")


class Host(Client):
    """Opens the dashboard, one of its listings' edit form, and saves it changed."""

    weight = 3

    def on_start(self):
        number = (next(_host_numbers) - 1) % HOSTS + 1
        if not self.log_in(f"loadtest-host-{number}@example.com"):
            raise StopUser

    @task
    def edit_listing(self):
        dashboard = self.page("/host/", "/host/")
        slugs = EDIT_LINK.findall(dashboard.text or "")
        if not slugs:
            return
        self.wait()
        path = f"/host/events/{random.choice(slugs)}/edit/"
        fields = form_fields(self.page(path, "/host/events/[slug]/edit/").text or "", "")
        if "csrf_token" not in fields or "description" not in fields:
            return
        self.wait()
        description = fields["description"]
        if description.endswith(EDIT_MARK):  # toggle, so the text never grows
            fields["description"] = description.removesuffix(EDIT_MARK)
        else:
            fields["description"] = description + EDIT_MARK
        self.post_form(path, fields, "/host/events/[slug]/edit/")


class LoadBalancer(Verified):
    """The load balancer's readiness probe: exactly one, every second."""

    fixed_count = 1
    wait_time = constant_pacing(1)
    default_headers: ClassVar = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.99.0.1"}

    @task
    def ready(self):
        self.client.get("/health/ready/", name="/health/ready/")
