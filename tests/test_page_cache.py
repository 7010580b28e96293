"""Whole pages cached for anonymous visitors (Redis in the PostgreSQL run)."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

import brotli
from flask import request

from eventmate.bookings.services import book_seats, cancel_booking
from eventmate.hosts.services import set_active
from eventmate.reviews.services import save_review
from tests.factories import make_event, make_member, now
from tests.test_security_headers import assert_secure_headers


def seats_left(response) -> str:
    return re.search(r"(\d+) of \d+ seats left", response.get_data(as_text=True)).group(1)


def nonce_in_body(response) -> str:
    return re.search(r'nonce="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_second_anonymous_visit_is_served_from_the_cache(client, page_cache, event):
    url = f"/events/{event.slug}/"
    first = client.get(url)
    second = client.get(url)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.status_code == second.status_code == 200
    assert "Harbour Jazz Night" in second.get_data(as_text=True)
    assert "Set-Cookie" not in second.headers
    assert_secure_headers(second)


def test_a_cache_hit_touches_no_database(client, page_cache, event, count_queries):
    client.get(f"/events/{event.slug}/")
    with count_queries() as counter:
        hit = client.get(f"/events/{event.slug}/")
    assert hit.headers["X-Cache"] == "HIT"
    assert counter.count == 0


def test_a_page_holding_the_csp_nonce_is_never_stored(app, client, page_cache, event):
    """A nonce must not be replayed to another visitor."""

    def put_the_nonce_in_the_page(response):
        if request.endpoint == "events.detail":
            response.set_data(response.get_data() + request.csp_nonce.encode())
        return response

    app.after_request_funcs[None].append(put_the_nonce_in_the_page)  # runs before the store
    try:
        responses = [client.get(f"/events/{event.slug}/") for _ in range(2)]
    finally:
        app.after_request_funcs[None].remove(put_the_nonce_in_the_page)
    assert [r.headers["X-Cache"] for r in responses] == ["MISS", "MISS"]


def test_hits_are_stored_compressed_and_served_in_the_accepted_encoding(client, page_cache, event):
    url = f"/events/{event.slug}/"
    plain = client.get(url, headers={"Accept-Encoding": "identity"}).get_data()
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        hit = client.get(url, headers={"Accept-Encoding": encoding})
        assert (hit.headers["X-Cache"], hit.headers["Content-Encoding"]) == ("HIT", encoding)
        assert decode(hit.get_data()) == plain
        assert "Accept-Encoding" in hit.headers["Vary"]
        assert "Cookie" in hit.headers["Vary"]
    identity = client.get(url, headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "Content-Encoding" not in identity.headers
    assert identity.get_data() == plain


def test_a_miss_is_sent_as_stored_and_revalidates_like_a_hit(client, page_cache, event):
    url = f"/events/{event.slug}/"
    miss = client.get(url, headers={"Accept-Encoding": "br"})
    hit = client.get(url, headers={"Accept-Encoding": "br"})
    assert (miss.headers["X-Cache"], miss.headers["Content-Encoding"]) == ("MISS", "br")
    assert miss.get_data() == hit.get_data()  # compressed once, when stored
    assert miss.headers["ETag"] == hit.headers["ETag"]
    again = client.get(
        url, headers={"Accept-Encoding": "br", "If-None-Match": miss.headers["ETag"]}
    )
    assert again.status_code == 304


def test_query_strings_are_normalised_into_one_key(client, page_cache, event):
    city = event.city.slug
    assert client.get(f"/events/?city={city}&q=jazz&utm_source=mail").headers["X-Cache"] == "MISS"
    assert client.get(f"/events/?q=jazz&city={city}").headers["X-Cache"] == "HIT"
    assert client.get(f"/events/?q=jazz+&city={city}&fbclid=1").headers["X-Cache"] == "HIT"
    assert client.get(f"/events/?q=blues&city={city}").headers["X-Cache"] == "MISS"


def test_a_booking_and_a_cancellation_refresh_seats_left_at_once(
    client, page_cache, event, db_session
):
    url = f"/events/{event.slug}/"
    assert seats_left(client.get(url)) == "40"
    assert client.get(url).headers["X-Cache"] == "HIT"

    result = book_seats(make_member(), event, 3, "token-1")
    after_booking = client.get(url)
    assert after_booking.headers["X-Cache"] == "MISS"
    assert seats_left(after_booking) == "37"

    cancel_booking(result.booking)
    assert seats_left(client.get(url)) == "40"


def test_host_changes_refresh_listings_and_the_event_page(client, page_cache, event):
    assert "Harbour Jazz Night" in client.get("/events/").get_data(as_text=True)
    assert client.get("/events/").headers["X-Cache"] == "HIT"
    set_active(event, False)
    listing = client.get("/events/")
    assert listing.headers["X-Cache"] == "MISS"
    assert "Harbour Jazz Night" not in listing.get_data(as_text=True)
    assert client.get(f"/events/{event.slug}/").status_code == 404


def test_a_new_review_shows_at_once(client, page_cache, db_session):
    past = make_event(starts_at=now() - timedelta(days=2))
    db_session.commit()
    url = f"/events/{past.slug}/"
    client.get(url)
    save_review(make_member(display_name="Rhea Reviewer"), past, 5, "Wonderful evening.")
    assert "Wonderful evening." in client.get(url).get_data(as_text=True)


def test_signed_in_members_never_get_or_fill_cached_pages(app, client, login, page_cache, event):
    url = f"/events/{event.slug}/"
    login(make_member(display_name="Mina Member"))
    own = client.get(url)
    assert "X-Cache" not in own.headers
    assert "Mina Member" in own.get_data(as_text=True)
    assert own.headers["Cache-Control"] == "private, no-store"

    anonymous = app.test_client().get(url)  # nothing of Mina's was stored
    assert anonymous.headers["X-Cache"] == "MISS"
    assert "Mina Member" not in anonymous.get_data(as_text=True)
    assert "Log in to book" in anonymous.get_data(as_text=True)


def test_pages_answer_conditional_requests_with_304(client, page_cache, event):
    url = f"/events/{event.slug}/"
    for encoding in ("identity", "gzip", "br"):
        first = client.get(url, headers={"Accept-Encoding": encoding})
        etag = first.headers["ETag"]
        again = client.get(url, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
        assert again.status_code == 304, encoding
        assert again.get_data() == b""
        assert again.headers["ETag"] == etag
    assert "no-cache" in first.headers["Cache-Control"]


def test_a_changed_page_is_not_304(client, page_cache, event, db_session):
    url = f"/events/{event.slug}/"
    etag = client.get(url).headers["ETag"]
    book_seats(make_member(), event, 1, "token-2")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_cache_clear_command(client, runner, page_cache, event):
    url = f"/events/{event.slug}/"
    client.get(url)
    assert (
        "Cleared the cached pages"
        in runner.invoke(args=["cache", "clear", "--event", event.slug]).output
    )
    assert client.get(url).headers["X-Cache"] == "MISS"
    client.get("/")
    assert runner.invoke(args=["cache", "clear"]).output.strip() == "Cleared the cache."
    assert client.get("/").headers["X-Cache"] == "MISS"
    assert client.get(url).headers["X-Cache"] == "MISS"


def test_only_anonymous_html_pages_are_cached(client, page_cache, event):
    for _ in range(2):
        missing = client.get("/events/no-such-event/")
        assert (missing.status_code, missing.headers["X-Cache"]) == (404, "MISS")
    assert "X-Cache" not in client.get(f"/events/{event.slug}/calendar.ics").headers
    assert "X-Cache" not in client.get("/login/").headers


PER_RESPONSE = {"Content-Length", "Content-Encoding", "ETag", "X-Request-ID", "Server-Timing",
                "Date", "X-Cache", "Content-Security-Policy", "Vary"}  # fmt: skip


def test_a_hit_carries_the_headers_the_page_was_first_served_with(client, page_cache, event):
    url = f"/events/{event.slug}/"
    miss = client.get(url, headers={"Accept-Encoding": "br"})
    hits = [client.get(url, headers={"Accept-Encoding": "br"}) for _ in range(2)]
    for hit in hits:
        assert hit.headers["X-Cache"] == "HIT"
        assert_secure_headers(hit)
        assert {k: v for k, v in hit.headers if k not in PER_RESPONSE} == {
            k: v for k, v in miss.headers if k not in PER_RESPONSE
        }
        assert hit.headers["Server-Timing"].startswith("app;dur=")
    csp = [r.headers["Content-Security-Policy"] for r in (miss, *hits)]
    assert len(set(csp)) == 3  # a fresh nonce each time, the policy otherwise the same
    assert {re.sub(r"'nonce-[^']+'", "", c) for c in csp} == {re.sub(r"'nonce-[^']+'", "", csp[0])}


def test_hits_keep_a_well_formed_request_id_and_replace_others(client, page_cache, event):
    url = f"/events/{event.slug}/"
    client.get(url)
    kept = client.get(url, headers={"X-Request-ID": "lb-1234.abc"})
    assert (kept.headers["X-Cache"], kept.headers["X-Request-ID"]) == ("HIT", "lb-1234.abc")
    replaced = client.get(url, headers={"X-Request-ID": "bad id\u2028<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])


def test_a_head_request_gets_headers_only(client, page_cache, event):
    url = f"/events/{event.slug}/"
    client.get(url)
    head = client.head(url)
    assert (head.status_code, head.headers["X-Cache"]) == (200, "HIT")
    assert head.get_data() == b""
    assert int(head.headers["Content-Length"]) > 1000
