"""Compression of responses, and content-hashed, precompressed static files.

The static-file tests compile (`flask digest compile`) into a temporary copy of the static
folder, so they behave the same whether or not eventmate/static holds a compiled manifest.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import brotli
import pytest
from flask import Response, request, stream_with_context

from config import TestConfig
from eventmate import assets, create_app
from tests.factories import make_booking, make_event, make_member, make_user
from tests.test_security_headers import assert_secure_headers

SOURCE_STATIC = Path(__file__).resolve().parent.parent / "eventmate" / "static"
SITE_CSS = (SOURCE_STATIC / "css" / "site.css").read_bytes()
CSS_DIGEST = hashlib.md5(SITE_CSS).hexdigest()
HASHED_CSS = f"/static/css/site-{CSS_DIGEST}.css"
DECOMPRESS = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda data: data}
GENERATED = re.compile(r"(-[0-9a-f]{32}|\.gz$|\.br$|^cache_manifest\.json$)")
BIG_TEXT = "<p>" + "EventMate compresses text. " * 100 + "</p>"


def static_app(tmp_path: Path, compile_assets: bool):
    """An app whose static folder is a copy of eventmate/static's sources, maybe compiled."""
    folder = tmp_path / "static"
    shutil.copytree(
        SOURCE_STATIC,
        folder,
        ignore=lambda _dir, names: [name for name in names if GENERATED.search(name)],
    )
    app = create_app(TestConfig, instance_path=str(tmp_path / "instance"))
    app.static_folder = str(folder)
    if compile_assets:
        result = app.test_cli_runner().invoke(args=["digest", "compile"])
        assert result.exit_code == 0, result.output
    assets.load_manifest(app)  # from the new folder, as starting the app there would
    add_probe_routes(app)
    return app


def add_probe_routes(app) -> None:
    """Views of the two kinds the app will grow: strong-ETag conditional, and streamed."""

    @app.get("/_probe/tagged/")
    def tagged():
        response = Response(BIG_TEXT, mimetype="text/html")
        response.set_etag("v1")
        return response.make_conditional(request)

    @app.get("/_probe/stream/")
    def streamed():
        def rows():
            for n in range(200):
                yield f"row {n}: EventMate streams text\n"

        return Response(stream_with_context(rows()), mimetype="text/csv")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return static_app(tmp_path_factory.mktemp("compiled"), compile_assets=True)


@pytest.fixture(scope="module")
def uncompiled(tmp_path_factory):
    return static_app(tmp_path_factory.mktemp("uncompiled"), compile_assets=False)


@pytest.fixture
def static_client(compiled, db_session):
    return compiled.test_client()


def get(client, path, encoding="", **headers):
    response = client.get(path, headers={"Accept-Encoding": encoding, **headers})
    response.get_data()  # read it all (it is kept), then release the file or generator
    response.close()
    return response


def body(response) -> bytes:
    return DECOMPRESS[response.headers.get("Content-Encoding")](response.get_data())


def varies_on(response, header: str) -> bool:
    return header.lower() in response.headers.get("Vary", "").lower()


# --- static files -------------------------------------------------------------------------


def test_compile_writes_hashed_and_precompressed_copies_and_a_manifest(compiled):
    folder = Path(compiled.static_folder)
    assert (folder / "cache_manifest.json").is_file()
    for suffix in ("", ".br", ".gz"):
        assert (folder / "css" / f"site-{CSS_DIGEST}.css{suffix}").is_file()
        assert (folder / "css" / f"site.css{suffix}").is_file()


def test_pages_link_hashed_static_urls_when_the_manifest_exists(static_client):
    page = get(static_client, "/").get_data(as_text=True)
    assert f'<link rel="stylesheet" href="{HASHED_CSS}">' in page
    assert re.search(r'href="/static/img/favicon-[0-9a-f]{32}\.svg"', page)


def test_without_a_manifest_pages_link_the_plain_static_urls(uncompiled, db_session):
    page = get(uncompiled.test_client(), "/").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/css/site.css">' in page
    assert 'href="/static/img/favicon.svg"' in page


def test_hashed_names_are_immutable_for_a_year_and_plain_names_cached_an_hour(static_client):
    hashed = get(static_client, HASHED_CSS)
    assert hashed.status_code == 200
    assert hashed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = get(static_client, "/static/css/site.css")
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "public, max-age=3600"


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("br", "br"),
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "br"),  # what browsers send: brotli wins
        ("br;q=0.5, gzip", "gzip"),
        ("*", "br"),
        ("br;q=0, *", "gzip"),
        ("br;q=0", None),
        ("identity;q=1, *;q=0", None),  # Chrome asking for a range
        ("identity", None),
        ("", None),
    ],
)
@pytest.mark.parametrize("path", [HASHED_CSS, "/static/css/site.css"])
def test_static_files_come_precompressed_as_the_client_accepts(
    static_client, path, accept, encoding
):
    response = get(static_client, path, accept)
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert response.mimetype == "text/css"
    assert varies_on(response, "Accept-Encoding")
    assert body(response) == SITE_CSS
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert response.headers["Content-Disposition"].endswith(".css")  # not .css.br if saved


def test_each_encoding_of_a_static_file_has_its_own_etag(static_client):
    etags = {get(static_client, HASHED_CSS, enc).headers["ETag"] for enc in ("br", "gzip", "")}
    assert len(etags) == 3


@pytest.mark.parametrize("accept", ["br", "gzip", ""])
def test_static_files_answer_conditional_requests_with_304(static_client, accept):
    first = get(static_client, HASHED_CSS, accept)
    for validator in (
        {"If-None-Match": first.headers["ETag"]},
        {"If-Modified-Since": first.headers["Last-Modified"]},
    ):
        again = get(static_client, HASHED_CSS, accept, **validator)
        assert again.status_code == 304, validator
        assert again.get_data() == b""
        assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert varies_on(again, "Accept-Encoding")


def test_an_etag_from_another_encoding_gets_the_full_file(static_client):
    gzip_etag = get(static_client, HASHED_CSS, "gzip").headers["ETag"]
    response = get(static_client, HASHED_CSS, "br", **{"If-None-Match": gzip_etag})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"


def test_svg_images_are_precompressed_too(static_client):
    svg = get(static_client, "/static/img/favicon.svg", "br")
    assert svg.headers["Content-Encoding"] == "br"
    assert body(svg) == (SOURCE_STATIC / "img" / "favicon.svg").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        f"/static/css/site-{'0' * 32}.css",  # a hashed name that was never compiled
        "/static/css/nope.css",
        "/static/css/site.css.br",  # siblings only through Accept-Encoding
        "/static/css/site.css.gz",
        "/static/..%2F__init__.py",
        "/static/css/..%2F..%2Fassets.py",
        "/static/%2E%2E/%2E%2E/config.py",
    ],
)
def test_unknown_names_and_path_traversal_are_404_pages(static_client, path):
    response = get(static_client, path, "br")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in body(response).decode()


def test_without_precompressed_copies_static_files_are_compressed_on_the_fly(
    uncompiled, db_session
):
    client = uncompiled.test_client()
    response = get(client, "/static/css/site.css", "br")
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert body(response) == SITE_CSS
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    etag = response.headers["ETag"]
    assert get(client, "/static/css/site.css", "br", **{"If-None-Match": etag}).status_code == 304


def test_security_headers_on_precompressed_static_files(static_client):
    response = static_client.get(
        HASHED_CSS, base_url="https://localhost", headers={"Accept-Encoding": "br"}
    )
    response.close()
    assert response.headers["Content-Encoding"] == "br"
    assert_secure_headers(response)
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_generated_static_files_are_ignored_by_git_and_sources_are_not(compiled):
    folder = Path(compiled.static_folder)
    repo = SOURCE_STATIC.parent.parent
    generated = [
        p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and GENERATED.search(p.name)
    ]
    sources = [p.relative_to(folder) for p in folder.rglob("*") if p.is_file()]
    sources = [p for p in sources if p not in generated]
    assert generated
    assert sources

    def ignored(paths) -> set[str]:
        names = [f"eventmate/static/{p.as_posix()}" for p in paths]
        result = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin"],
            input="\n".join(names),
            capture_output=True,
            text=True,
            cwd=repo,
            check=False,
        )
        return set(result.stdout.split())

    assert len(ignored(generated)) == len(generated)
    assert ignored(sources) == set()


# --- dynamic responses --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("br", "br"),
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip;q=0, *", "br"),
        ("br;q=0, *", "gzip"),
        ("gzip;q=1.0, br;q=0.8", "gzip"),
    ],
)
def test_html_pages_are_compressed_brotli_first(client, db_session, accept, encoding):
    plain = get(client, "/events/")
    response = get(client, "/events/", accept)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert varies_on(response, "Accept-Encoding")
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert len(response.get_data()) < len(plain.get_data()) / 2
    page = body(response).decode()
    assert page.startswith("<!doctype html>")
    assert page == plain.get_data(as_text=True)


def test_tiny_responses_are_not_compressed(client, db_session):
    response = get(client, "/health/live/", "br, gzip")
    assert "Content-Encoding" not in response.headers
    assert response.json == {"status": "ok"}
    assert varies_on(response, "Accept-Encoding")


def test_clients_that_accept_no_compression_get_plain_pages(client, db_session):
    for accept in ("", "identity", "deflate", "br;q=0", "br;q=0, gzip;q=0", "identity, *;q=0"):
        response = get(client, "/events/", accept)
        assert "Content-Encoding" not in response.headers, accept
        assert varies_on(response, "Accept-Encoding")


def test_security_headers_on_compressed_pages(client, db_session):
    response = get(client, "/events/", "br")
    assert response.headers["Content-Encoding"] == "br"
    assert_secure_headers(response)


def test_personal_pages_vary_on_both_cookie_and_accept_encoding(client, db_session, login):
    login(make_member())
    response = get(client, "/me/bookings/", "br")
    assert response.headers["Content-Encoding"] == "br"
    assert varies_on(response, "Cookie")
    assert varies_on(response, "Accept-Encoding")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "My bookings" in body(response).decode()


def stamped_off(data: bytes) -> bytes:
    return b"\n".join(line for line in data.splitlines() if not line.startswith(b"DTSTAMP:"))


def test_sitemaps_and_calendars_are_compressed(client, db_session):
    event = make_event()
    db_session.commit()
    for path, mimetype, marker in (
        ("/sitemaps/pages.xml", "application/xml", b"<urlset"),
        (f"/events/{event.slug}/calendar.ics", "text/calendar", b"BEGIN:VCALENDAR"),
    ):
        plain = get(client, path)
        response = get(client, path, "br")
        assert response.mimetype == mimetype
        assert len(plain.get_data()) >= 500, path  # above the floor, or this proves nothing
        assert response.headers["Content-Encoding"] == "br", path
        # (A calendar's DTSTAMP is the second it was made: two requests may differ there.)
        assert stamped_off(body(response)) == stamped_off(plain.get_data())
        assert marker in body(response)


def test_attendee_csv_export_is_compressed_and_intact(client, db_session, login):
    host = make_member(is_host=True)
    event = make_event(host=host, capacity=100)
    for n in range(20):
        make_booking(event, user=make_user(display_name=f"Guest {n}"), reference=f"CSVZ-{n:04d}")
    db_session.commit()
    login(host)
    response = get(client, f"/host/events/{event.slug}/attendees.csv", "gzip")
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(body(response).decode())))
    assert rows[0] == ["reference", "name", "email", "seats", "booked_at_utc"]
    assert len(rows) == 21


@pytest.mark.parametrize("accept", ["br", "gzip", ""])
def test_streamed_responses_are_compressed_as_they_stream(static_client, accept):
    response = get(static_client, "/_probe/stream/", accept)
    assert response.headers.get("Content-Encoding") == (accept or None)
    assert "Content-Length" not in response.headers
    text = body(response).decode()
    assert text.startswith("row 0: ")
    assert text.endswith("row 199: EventMate streams text\n")


def test_strong_etags_name_the_encoding_and_still_give_304(static_client):
    response = get(static_client, "/_probe/tagged/", "br")
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["ETag"] == '"v1:br"'
    assert body(response).decode() == BIG_TEXT

    again = get(static_client, "/_probe/tagged/", "br", **{"If-None-Match": '"v1:br"'})
    assert again.status_code == 304
    assert again.get_data() == b""
    plain = get(static_client, "/_probe/tagged/", "", **{"If-None-Match": '"v1:br"'})
    assert plain.status_code == 200
    assert plain.headers["ETag"] == '"v1"'


@pytest.mark.parametrize("path", ["/static/css/site.css", "/health/live/"])
def test_static_files_and_health_checks_leave_the_session_alone(client, login, path):
    """A signed-in visitor's cookie doesn't make them per-user: no session read or saved, no
    Set-Cookie, no `Vary: Cookie` (which would keep them out of shared caches)."""
    login(make_member())
    with client.get(path) as response:
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert not varies_on(response, "Cookie")
    assert "Log out" in client.get("/").get_data(as_text=True)  # still signed in
