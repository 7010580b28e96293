"""Fuzzing every route: hostile values in every path, query and form parameter, never a 500.

Nothing here lists the site's forms or parameters by hand. The routes come from the URL map,
the forms (and the fields a browser would send) from the pages each role is shown, and the
query parameters from the views' own `args.get("...")` calls plus the pages' GET forms.
Each request runs inside a savepoint that is rolled back afterwards, so every value meets the
same data (a fuzzed "deactivate" does not hide the event from the requests after it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest

from eventmate.extensions import db
from eventmate.models import WaitlistEntry
from tests.conftest import PASSWORD, csrf_token
from tests.factories import (
    make_booking,
    make_city,
    make_event,
    make_image,
    make_member,
    make_review,
)
from tests.factories import now as utc_now

HOSTILE = [
    "a" * 5000,
    "9" * 5000,
    "99999999999999999999",  # past a 64-bit integer
    "-1",
    "0",
    "\x00",
    "é😀",
    "%",
    "' OR 1=1 --",
    "",
    "9999-99-99",
]
JUNK_NAMES = ["zz", "x\x00é", "page[]"]
SOURCE = Path(__file__).resolve().parent.parent / "eventmate"
CSRF_EXPIRED = "Your form expired"
# "unconfirmed": a member who hasn't confirmed their address yet (the "send the link again"
# form is only theirs).
ROLES = ["anonymous", "member", "host", "admin", "unconfirmed"]
# What a browser would put in a field of each input type, so the other fields of a form are
# valid and the fuzzed one is what validation looks at.
VALID_BY_TYPE = {
    "email": "fuzz@example.com",
    "password": PASSWORD,
    "number": "10",
    # A start, then an end two hours later (a form's datetime fields come in that order).
    "datetime-local": [
        (utc_now() + timedelta(days=60, hours=hours)).strftime("%Y-%m-%dT%H:%M") for hours in (0, 2)
    ],
    "date": (utc_now() + timedelta(days=60)).date().isoformat(),
    "textarea": "A description long enough for every length rule.",
    "text": "Fuzzing value",
}


# --- what the site shows -----------------------------------------------------------------


class FormParser(HTMLParser):
    """Every form on a page: its method, action and the fields a browser would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._option: dict | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(
                {"method": a.get("method", "get").lower(), "action": a.get("action"), "fields": {}}
            )
        elif not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            kind = a.get("type", "text")
            if kind == "radio" and name in fields and "checked" not in a:
                return
            fields[name] = (kind, a.get("value", ""))
        elif tag == "select" and name:
            self._select = name
            fields[name] = ("select", None)
        elif tag == "option" and self._select:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ("textarea", "")

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        elif self._textarea:
            kind, value = self.forms[-1]["fields"][self._textarea]
            self.forms[-1]["fields"][self._textarea] = (kind, value + data)

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            option, self._option = self._option, None
            value = option["value"] if option["value"] is not None else option["text"].strip()
            kind, current = self.forms[-1]["fields"][self._select]
            if current is None or option["selected"]:
                self.forms[-1]["fields"][self._select] = (kind, value)
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # Browsers drop the line break that follows <textarea>.
            fields = self.forms[-1]["fields"]
            kind, value = fields[self._textarea]
            fields[self._textarea] = (kind, value.removeprefix("\r").removeprefix("\n"))
            self._textarea = None


def forms_on(page: str, url: str) -> list[dict]:
    parser = FormParser()
    parser.feed(page)
    for form in parser.forms:
        form["action"] = urlsplit(form["action"] or url).path
        times = iter(VALID_BY_TYPE["datetime-local"])
        for name, (kind, value) in form["fields"].items():
            if kind == "datetime-local":
                value = value or next(times)
            elif kind != "hidden":
                value = value or VALID_BY_TYPE.get(kind, "")
            form["fields"][name] = value
    return parser.forms


def arguments(rule) -> list[tuple[str, str]]:
    """(converter, argument) for each `<converter:argument>` of a rule, from its public text."""
    return [
        (converter or "default", name)
        for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule)
    ]


def fill(rule, values: dict[str, str]) -> str:
    """The rule's path with each argument replaced by its (URL-quoted) value."""

    def replace(match):
        return quote(values[match.group(2)], safe="")

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", replace, rule.rule)


ONLY_LINKED_FROM_EMAILS = {
    "bookings.reminders_off", "auth.verify_email", "auth.reset_password", "account.confirm_email",
}  # fmt: skip


def site_rules(app) -> list:
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def query_parameter_names() -> set[str]:
    """The query parameters the views read: every `args.get("name")` in the package."""
    names = set()
    for path in SOURCE.rglob("*.py"):
        names.update(re.findall(r"""args\.get\(\s*["'](\w+)["']""", path.read_text()))
    return names


# --- data and roles ----------------------------------------------------------------------


@pytest.fixture
def world(db_session):
    """A member with an upcoming and a past booking (and a review), a host owning those events
    (one with an image), a hidden one and a draft, an admin, and a member who hasn't confirmed their
    address: every form is shown to someone."""
    city = make_city(slug="fuzz-city")
    host = make_member(is_host=True)
    admin = make_member(is_admin=True)
    member = make_member()
    unconfirmed = make_member(email_verified_at=None)
    upcoming = make_event(host=host, city=city, capacity=50, max_per_booking=4)
    past = make_event(host=host, city=city, starts_at=utc_now() - timedelta(days=3))
    make_event(host=host, city=city, is_active=False)  # for the dashboard's "reactivate"
    draft = make_event(host=host, city=city, published_at=None)  # its preview and "publish"
    image = make_image(upcoming)
    make_image(upcoming, position=1)  # two, so each can be moved
    booking = make_booking(upcoming, user=member, quantity=1)
    make_booking(past, user=member, quantity=1)
    make_review(past, user=member)
    # A sold-out event with a waitlist: seats held for the member (claim, decline), the host
    # waiting in line (leave), the admin not in it (join).
    full = make_event(city=city, capacity=3, max_per_booking=2, seats_held=1)
    make_booking(full, quantity=2)
    offer_ends = utc_now() + timedelta(minutes=30)
    db.session.add_all([
        WaitlistEntry(event=full, user=member, quantity=1, status="offered",
                      offered_at=utc_now(), hold_expires_at=offer_ends),
        WaitlistEntry(event=full, user=host, quantity=2, status="waiting"),
    ])  # fmt: skip
    db_session.commit()
    return {
        "users": {"member": member, "host": host, "admin": admin, "unconfirmed": unconfirmed},
        "samples": {
            "slug": [upcoming.slug, past.slug, city.slug, "music", full.slug, draft.slug],
            "ref": [booking.reference],
            "int": [str(image.id), str(host.id)],  # an image; a host's public profile
            "page": ["1"],
            "path": ["missing.jpg"],
            "default": ["x"],
        },
    }


class Visitor:
    """The test client as one role, keeping that role (and a valid CSRF token) throughout."""

    def __init__(self, app, client, login, world, role: str) -> None:
        self.app, self.client, self.login, self.role = app, client, login, role
        self.user = world["users"].get(role)
        self.samples = world["samples"]
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]
        self.adapter = app.url_map.bind("localhost")
        self.posts = self.csrf_refused = 0
        self.sign_in()

    def sign_in(self) -> None:
        self.client.delete_cookie(self.cookie_name)
        if self.user is not None:
            self.login(self.user)
        # Any token of the session passes any form (Flask-WTF keeps one secret per session).
        self.token = csrf_token(self.client, "/login/" if self.user is None else "/")

    def pages(self) -> Iterator[tuple[object, str, object]]:
        """(rule, URL, response) of every GET page the role can open, built from the URL map."""
        for rule in site_rules(self.app):
            if "GET" not in rule.methods:
                continue
            args = arguments(rule)
            choices = [[(name, value) for value in self.samples[conv]] for conv, name in args]
            for combination in _product(choices):
                url = fill(rule, dict(combination))
                response = self.client.get(url)
                if response.status_code == 200:
                    yield rule, url, response

    def discover(self) -> tuple[list[tuple[object, str]], list[dict]]:
        pages, forms, seen = [], [], set()
        for rule, url, response in self.pages():
            pages.append((rule, url))
            if response.mimetype != "text/html":
                continue
            for form in forms_on(response.get_data(as_text=True), url):
                # One form per view and set of fields: the same form for another event adds time,
                # not coverage.
                form["endpoint"] = self.adapter.match(form["action"], form["method"].upper())[0]
                key = (form["method"], form["endpoint"], tuple(sorted(form["fields"])))
                if key not in seen:
                    seen.add(key)
                    forms.append(form)
        return pages, forms

    def send(self, method: str, url: str, data: dict | None = None):
        """One request inside a savepoint that is rolled back; a 500 fails with the input."""
        if data is not None:
            data = {**data, "csrf_token": data.get("csrf_token", self.token)}
            self.posts += 1
        with _rolled_back():
            try:
                response = self.client.open(url, method=method, data=data)
            except Exception as error:  # the test client re-raises what would be a 500
                raise AssertionError(f"{self.role}: {method} {url[:200]} {data!r:.300}") from error
        body = response.get_data(as_text=True)
        where = f"{self.role}: {method} {url[:200]} {data!r:.300} → {response.status_code}"
        assert response.status_code < 500, where
        if 300 <= response.status_code < 400:
            assert response.headers.get("Location"), where
        elif response.mimetype == "text/html":
            assert 'class="site-header"' in body, f"bare page: {where}"
            assert "</html>" in body, f"cut-off page: {where}"
        else:
            assert body, f"empty body: {where}"
        if data is not None and CSRF_EXPIRED in body:
            self.csrf_refused += 1
        if data is not None and response.status_code in (302, 303) and not self.still_me():
            self.sign_in()  # a fuzzed logout or registration worked: back to this role
        return response

    def still_me(self) -> bool:
        """Signed in exactly when this role is, as the page header shows."""
        header = self.client.get("/").get_data(as_text=True)
        return ('action="/logout/"' in header) == (self.user is not None)


def _product(choices):
    if not choices:
        yield ()
        return
    for first in choices[0]:
        for rest in _product(choices[1:]):
            yield (first, *rest)


@contextmanager
def _rolled_back():
    db.session.rollback()  # end the session's own savepoint first: ours must be the outer one
    connection = db.session.get_bind()
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        db.session.rollback()
        savepoint.rollback()


@pytest.fixture(params=ROLES)
def visitor(request, app, client, login, world) -> Visitor:
    return Visitor(app, client, login, world, request.param)


# --- the fuzz ----------------------------------------------------------------------------


def test_fuzz_reaches_every_route(app, client, login, world):
    """The fuzz below is only as good as its reach: every GET route opens for some role, and
    every POST route is the action of a form some role is shown."""
    opened, posted = set(), set()
    for role in ROLES:
        pages, forms = Visitor(app, client, login, world, role).discover()
        opened.update(rule.endpoint for rule, _ in pages)
        posted.update(form["endpoint"] for form in forms if form["method"] == "post")
    rules = site_rules(app)
    # media.file serves uploaded files (none in this data); pages only emails link to are
    # tested with their links (tests/test_email.py); every other GET page opens.
    assert {r.endpoint for r in rules if "GET" in r.methods} - opened == {
        "media.file", *ONLY_LINKED_FROM_EMAILS
    }
    posts = {r.endpoint for r in rules if "POST" in r.methods}
    assert posts - posted == ONLY_LINKED_FROM_EMAILS & posts
    assert {"page", "reviews", "upcoming", "past", "next", "key"} <= query_parameter_names()


def test_hostile_path_parameters_are_never_a_500(app, visitor):
    for rule in site_rules(app):
        args = arguments(rule)
        for _, name in args:
            for value in HOSTILE:
                values = {other: visitor.samples[conv][0] for conv, other in args}
                values[name] = value
                for method in sorted(rule.methods & {"GET", "POST"}):
                    visitor.send(method, fill(rule, values), {} if method == "POST" else None)


def test_hostile_query_parameters_are_never_a_500(visitor):
    pages, forms = visitor.discover()
    names = query_parameter_names() | set(JUNK_NAMES)
    names |= {name for form in forms if form["method"] == "get" for name in form["fields"]}
    names = sorted(names)
    for _, url in pages:
        for shift in range(len(HOSTILE)):
            # Every parameter at once: first all the same value, then each a different one.
            same = dict.fromkeys(names, HOSTILE[shift])
            mixed = {name: HOSTILE[(i + shift) % len(HOSTILE)] for i, name in enumerate(names)}
            for params in (same, mixed):
                visitor.send("GET", f"{url}?{urlencode(params)}")


def test_hostile_form_fields_are_never_a_500(visitor):
    _, forms = visitor.discover()
    posts = [form for form in forms if form["method"] == "post"]
    assert posts
    fuzzed = 0
    for form in posts:
        valid = {name: value for name, value in form["fields"].items() if name != "csrf_token"}
        for name in valid:
            for value in HOSTILE:
                visitor.send("POST", form["action"], {**valid, name: value})
                fuzzed += 1
        for value in HOSTILE:
            visitor.send("POST", form["action"], {**valid, **dict.fromkeys(JUNK_NAMES, value)})
            visitor.send("POST", form["action"], dict.fromkeys(valid, value))
            visitor.send("POST", form["action"], {**valid, "csrf_token": value})
            fuzzed += 2
    # Most requests must get past the CSRF check, or this would only test the CSRF check.
    assert visitor.csrf_refused <= len(posts) * len(HOSTILE) + fuzzed // 10, visitor.csrf_refused
