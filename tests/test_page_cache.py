"""What the app lets the edge keep (Cache-Control), and its purges of an event's page
(eventmate/pagecache/edge.py). The edge itself, a real nginx, is tested in test_edge.py."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import request

from eventmate.bookings.services import book_seats, cancel_booking
from eventmate.extensions import cache
from eventmate.pagecache import edge
from eventmate.pagecache.keys import page_key
from eventmate.reviews.services import save_review
from tests.factories import make_event, make_member, now

SITE = "http://events.example"  # the purges fixture's SITE_HOSTS: other hosts get a 400


def kept_for(response) -> int | None:
    """Seconds a shared cache may keep the response; None: not at all."""
    control = response.cache_control
    if not control.public or control.private or control.no_store:
        return None
    assert control.max_age == 0  # browsers ask again each time
    return control.s_maxage


class PurgeRecorder(ThreadingHTTPServer):
    """A stand-in edge purge listener: records (host, path, encoding) of each PURGE."""

    def __init__(self) -> None:
        self.purges: list[tuple[str, str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PURGE(self) -> None:
                headers = self.headers
                recorder.purges.append(
                    (headers["Host"], self.path, headers.get("Accept-Encoding", ""))
                )
                self.send_response(404)  # "wasn't cached", as ngx_cache_purge answers
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def recorded_purges(app, monkeypatch):
    """An edge to purge at (EDGE_PURGE_URLS), and the purges it received."""
    recorder = PurgeRecorder()
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    monkeypatch.setitem(app.config, "EDGE_PURGE_URLS", [recorder.url])
    monkeypatch.setattr(edge, "PURGE_AGAIN_AFTER", 0.5)
    try:
        yield recorder.purges
    finally:
        recorder.shutdown()
        recorder.server_close()


@pytest.fixture
def purges(app, monkeypatch):
    """recorded_purges, for the site host events.example."""
    monkeypatch.setitem(app.config, "SITE_HOSTS", ["events.example"])
    # (300 with Redis; this is about the edge's copy, which the purge keeps fresh)
    monkeypatch.setitem(app.config, "EVENT_PAGE_CACHE_SECONDS", 300)
    with recorded_purges(app, monkeypatch) as recorded:
        yield recorded


def wait_for(condition, seconds: float = 5.0) -> bool:
    event = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        event.wait(0.05)
    return condition()


def test_anonymous_pages_may_be_kept_by_the_edge(client, event):
    for url in ("/", "/events/", "/events/?q=jazz", f"/categories/{event.category}/",
                f"/cities/{event.city.slug}/", f"/events/{event.slug}/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
        assert kept_for(response) == 60, url
        assert "Set-Cookie" not in response.headers, url


def test_event_pages_are_kept_longer_when_the_edge_is_purged(client, event, purges):
    assert kept_for(client.get(f"/events/{event.slug}/", base_url=SITE)) == 300
    assert kept_for(client.get("/events/", base_url=SITE)) == 60
    # Another spelling of the URL is redirected to it, and the redirect is not kept.
    for query in ("reviews=2", "utm_source=mail", "reviews=1"):
        response = client.get(f"/events/{event.slug}/?{query}", base_url=SITE)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/events/{event.slug}/"
        assert kept_for(response) is None


def test_an_event_page_is_never_kept_past_the_event_start(client, db_session, purges):
    soon = make_event(starts_at=now() + timedelta(seconds=90))
    db_session.commit()
    assert 0 < kept_for(client.get(f"/events/{soon.slug}/", base_url=SITE)) <= 90


def test_nothing_personal_or_unfinished_is_public(app, client, login, event):
    assert kept_for(client.get("/events/no-such-event/")) is None  # 404
    assert kept_for(client.get("/login/")) is None  # a CSRF token in the session
    assert kept_for(client.get(f"/events/{event.slug}/calendar.ics")) is None
    assert kept_for(client.get("/health/")) is None
    login(make_member(display_name="Mina Member"))
    own = client.get(f"/events/{event.slug}/")
    assert "Mina Member" in own.get_data(as_text=True)
    assert own.headers["Cache-Control"] == "private, no-store"


def test_a_page_holding_the_csp_nonce_is_never_public(app, client, event):
    """A nonce must not be replayed to another visitor."""

    def put_the_nonce_in_the_page(response):
        if request.endpoint == "events.detail":
            response.set_data(response.get_data() + request.csp_nonce.encode())
        return response

    app.after_request_funcs[None].append(put_the_nonce_in_the_page)  # runs before the marking
    try:
        assert kept_for(client.get(f"/events/{event.slug}/")) is None
    finally:
        app.after_request_funcs[None].remove(put_the_nonce_in_the_page)


def test_with_the_page_cache_off_nothing_is_public(app, client, event, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_SECONDS", 0)
    assert kept_for(client.get(f"/events/{event.slug}/")) is None


def test_a_booking_and_a_cancellation_purge_the_event_page_now_and_again(
    app, event, db_session, purges
):
    result = book_seats(make_member(), event, 3, "token-1")
    path = f"/events/{event.slug}/"
    every_encoding = [("events.example", path, encoding) for encoding in ("br", "gzip", "")]
    assert purges == every_encoding  # at once, after the commit
    assert wait_for(lambda: len(purges) == 6)
    assert purges[3:] == every_encoding  # once more, after any render in flight
    cancel_booking(result.booking)
    assert wait_for(lambda: len(purges) == 12)


def test_the_host_a_change_came_by_is_purged_too(client, event, purges):
    with client.application.test_request_context(headers={"Host": "Tickets.Example:8443"}):
        save_review(make_member(), event, 5, "Lovely.")
    hosts = {host for host, _, _ in purges}
    assert hosts == {"events.example", "tickets.example"}
    assert {path for _, path, _ in purges} == {f"/events/{event.slug}/"}
    assert wait_for(lambda: len(purges) == 12)  # both hosts, three encodings, twice


def test_an_unreachable_edge_never_fails_the_change(app, event, db_session, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "EDGE_PURGE_URLS", ["http://127.0.0.1:9"])  # nobody there
    monkeypatch.setitem(app.config, "SITE_HOSTS", ["events.example"])
    monkeypatch.setattr(edge, "PURGE_AGAIN_AFTER", 0.01)
    with caplog.at_level(logging.WARNING, logger="eventmate.pagecache.edge"):
        result = book_seats(make_member(), event, 1, "token-3")
        assert wait_for(lambda: caplog.text.count("edge purge failed at http://127.0.0.1:9:") == 2)
    assert result.created


@pytest.mark.parametrize(
    "junk",
    ["page=aaaa", "category=nope", "q=" + "x" * 5000, "from=banana", "sort=sideways", "page=77"],
)
def test_invalid_values_are_answered_but_never_stored(client, event, junk):
    """(A page past the last is one: the last page is shown, under the number asked for.)"""
    response = client.get(f"/events/?{junk}")
    assert response.status_code == 200
    assert 'class="notice' in response.get_data(as_text=True)
    assert kept_for(response) is None  # the edge must not keep it


@pytest.mark.parametrize("junk", ["page=aaaa", "q=" + "y" * 5000, "city=atlantis"])
def test_members_pages_for_invalid_values_are_not_stored_either(
    client, login, db_session, event, junk
):
    login(make_member(email="mo@example.com"))
    assert client.get(f"/events/?{junk}").status_code == 200
    assert cache.get(page_key("localhost", "/events/", junk)) is None
    assert client.get("/events/?q=jazz").status_code == 200
    assert cache.get(page_key("localhost", "/events/", "q=jazz")) is not None  # kept


def test_other_spellings_of_a_url_are_redirected_to_it(client, event):
    for spelling, canonical in (
        ("/events/?city=&q=jazz&when=", "/events/?q=jazz"),
        ("/events/?sort=date&utm_medium=mail", "/events/"),
        (f"/categories/{event.category}/?category=tech&page=1", f"/categories/{event.category}/"),
        ("/events/?q=jazz%20%20night", "/events/?q=jazz+night"),
        # Encoded as browsers encode it, so the redirect's target is never redirected again.
        ("/events/?q=valentine's", "/events/?q=valentine%27s"),
        ("/events/?q=caf%C3%A9~*", "/events/?q=caf%C3%A9%7E*"),
        ("/?utm_source=mail", "/"),
    ):
        response = client.get(spelling)
        assert response.status_code == 302, spelling
        assert response.headers["Location"] == canonical
        assert response.headers["Cache-Control"] == "no-store"  # a browser keeps no redirect
        assert client.get(canonical).status_code == 200
