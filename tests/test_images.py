import io
import json
import os
import re
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import cloudinary
import pytest
from PIL import Image, ImageFile
from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.media.processing import PROCESSING_SLOT, ImageRejected, clean_image
from eventmate.media.storage import CloudinaryStorage, cloudinary_settings
from eventmate.models import Event, EventImage
from tests.conftest import csrf_token
from tests.factories import make_event, make_image, make_member


def image_bytes(fmt="JPEG", size=(640, 360), exif=False) -> bytes:
    image = Image.new("RGB", size, (200, 80, 40))
    output = io.BytesIO()
    options = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SpyCam"  # Make
        data[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS info
        options["exif"] = data
    image.save(output, format=fmt, **options)
    return output.getvalue()


@pytest.fixture
def host_event(db_session, login):
    host = make_member(is_host=True)
    event = make_event(host=host)
    db_session.commit()
    login(host)
    return event


def upload(client, event, data: bytes, filename="photo.jpg", alt="A stage under warm lights"):
    token = csrf_token(client, f"/host/events/{event.slug}/images/")
    return client.post(
        f"/host/events/{event.slug}/images/",
        data={"csrf_token": token, "alt_text": alt, "image": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def image_rows(event) -> list[EventImage]:
    return list(db.session.scalars(
        select(EventImage).where(EventImage.event_id == event.id).order_by(EventImage.position)
    ))  # fmt: skip


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_upload_stores_a_clean_copy(app, client, db_session, host_event, fmt):
    response = upload(client, host_event, image_bytes(fmt, size=(3000, 1500), exif=fmt == "JPEG"))
    assert response.status_code == 303
    [row] = image_rows(host_event)
    assert row.alt_text == "A stage under warm lights"
    assert row.url.startswith("/media/")
    served = client.get(row.url)
    data = served.data
    served.close()
    assert served.status_code == 200
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stored = Image.open(io.BytesIO(data))
    assert stored.format == fmt
    assert stored.size == (2000, 1000)  # capped, aspect kept
    assert not stored.getexif()  # metadata (GPS!) stripped
    page = client.get(f"/events/{host_event.slug}/").get_data(as_text=True)
    assert f'src="{row.url}" alt="A stage under warm lights"' in page


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "evil.jpg", "valid JPEG, PNG or WebP"),
        (image_bytes() + b"<html><script>alert(1)</script></html>", "poly.jpg", "extra data"),
        (image_bytes("PNG") + b"<script>x</script>", "poly.png", "extra data"),
        (image_bytes("GIF"), "anim.gif", "Upload a JPEG, PNG or WebP"),
        (image_bytes()[:500], "cut.jpg", "valid JPEG, PNG or WebP"),
        (b"", "empty.jpg", "Choose an image"),
    ],
)
def test_bad_uploads_are_refused(client, db_session, host_event, data, filename, message):
    response = upload(client, host_event, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert image_rows(host_event) == []


def test_images_over_5_mb_are_refused():
    # Checked on the bytes (a 5 MB multipart body leaks a temp file in Werkzeug's test client).
    with pytest.raises(ImageRejected, match="larger than 5 MB"):
        clean_image(b"\xff\xd8" + b"\x00" * (5 * 1024 * 1024))


def test_alt_text_is_required(client, db_session, host_event):
    response = upload(client, host_event, image_bytes(), alt="")
    assert response.status_code == 400
    assert "alt text" in response.get_data(as_text=True)
    assert image_rows(host_event) == []


def test_too_large_a_request_gets_the_413_page(client, db_session, host_event):
    response = client.post(
        f"/host/events/{host_event.slug}/images/",
        data=b"\x00" * (7 * 1024 * 1024),  # raw bytes: refused on its Content-Length alone
        content_type="multipart/form-data; boundary=xyz",
    )
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_at_most_eight_images(client, db_session, host_event):
    for position in range(8):
        make_image(host_event, position=position)
    db_session.commit()
    response = upload(client, host_event, image_bytes())
    assert response.status_code == 400
    assert "at most 8 images" in response.get_data(as_text=True)


def move_buttons(client, event) -> list[list[str]]:
    """Each listed image's move buttons, in order."""
    page = client.get(f"/host/events/{event.slug}/images/").get_data(as_text=True)
    items = page.split('<ol class="image-list">')[1].split("</ol>")[0].split("<li>")[1:]
    return [re.findall(r">(Move (?:up|down))</button>", item) for item in items]


def test_only_the_moves_that_can_happen_are_offered(client, db_session, host_event):
    make_image(host_event, position=0, alt_text="only")
    db_session.commit()
    assert move_buttons(client, host_event) == [[]]  # one image: nowhere to move it

    for position in (1, 2):
        make_image(host_event, position=position, alt_text=f"image {position}")
    db_session.commit()
    assert move_buttons(client, host_event) == [
        ["Move down"], ["Move up", "Move down"], ["Move up"],
    ]  # fmt: skip


def test_reorder_and_delete(client, db_session, host_event):
    first = make_image(host_event, position=0, alt_text="first")
    second = make_image(host_event, position=1, alt_text="second")
    db_session.commit()
    token = csrf_token(client, f"/host/events/{host_event.slug}/images/")
    base = f"/host/events/{host_event.slug}/images"

    client.post(f"{base}/{second.id}/move/", data={"csrf_token": token, "direction": "up"})
    db.session.expire_all()
    assert [row.alt_text for row in image_rows(host_event)] == ["second", "first"]

    client.post(f"{base}/{first.id}/delete/", data={"csrf_token": token})
    assert [row.alt_text for row in image_rows(host_event)] == ["second"]
    bad = client.post(f"{base}/{second.id}/move/", data={"csrf_token": token, "direction": "x"})
    assert bad.status_code == 400


def png_stating(width: int, height: int) -> bytes:
    """A 1 × 1 PNG whose header says width × height: only a decode would notice the lie."""
    data = bytearray(image_bytes("PNG", size=(1, 1)))
    # The IHDR chunk's data starts at byte 16: width and height, then 5 more bytes, then a CRC.
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def huge_bilevel_png() -> bytes:
    """A real 6320 × 6320 PNG of a few kilobytes that would take hundreds of MB to decode."""
    output = io.BytesIO()
    Image.new("1", (6320, 6320)).save(output, format="PNG")
    return output.getvalue()


def stored_files(app) -> set[str]:
    root = app.extensions["image_storage"].root
    return set(os.listdir(root)) if os.path.isdir(root) else set()


@pytest.mark.parametrize(
    "make",
    [
        huge_bilevel_png,
        lambda: png_stating(10_000, 10_000),  # past Pillow's warning threshold
        lambda: png_stating(100_000, 100_000),  # past Pillow's error threshold
    ],
    ids=["6320x6320", "header-100MP", "header-10GP"],
)
def test_too_many_pixels_is_a_form_error_and_stores_nothing(app, client, db_session,
                                                            host_event, make):  # fmt: skip
    data = make()
    assert len(data) < 100_000
    before = stored_files(app)
    response = upload(client, host_event, data, "huge.png")
    assert response.status_code == 400
    assert "too many pixels: at most 16 megapixels" in response.get_data(as_text=True)
    assert image_rows(host_event) == []
    assert stored_files(app) == before


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_an_upload_is_opened_and_decoded_once(client, db_session, host_event, monkeypatch, fmt):
    opened, decoded = [], []
    real_open, real_load = Image.open, ImageFile.ImageFile.load

    def counting_open(*args, **kwargs):
        opened.append(args)
        return real_open(*args, **kwargs)

    def counting_load(image):
        if image.tile:  # still to be decoded; afterwards load() just returns the pixels
            decoded.append(image.format)
        return real_load(image)

    monkeypatch.setattr(Image, "open", counting_open)
    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    response = upload(client, host_event, image_bytes(fmt, size=(3000, 1500)))
    assert response.status_code == 303
    assert len(image_rows(host_event)) == 1
    assert len(opened) == 1
    assert decoded == [fmt]


def test_one_image_is_processed_at_a_time(monkeypatch):
    order: list[str] = []
    first_inside, let_first_finish = threading.Event(), threading.Event()
    real_open = Image.open

    def open_and_maybe_wait(*args, **kwargs):
        name = threading.current_thread().name
        order.append(f"{name} opens")
        if name == "first":
            first_inside.set()
            assert let_first_finish.wait(30)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", open_and_maybe_wait)
    results = {}

    def process():
        results[threading.current_thread().name] = clean_image(image_bytes("PNG"))
        order.append(f"{threading.current_thread().name} done")

    first = threading.Thread(target=process, name="first")
    second = threading.Thread(target=process, name="second")
    first.start()
    try:
        assert first_inside.wait(30)
        took = PROCESSING_SLOT.acquire(blocking=False)
        if took:
            PROCESSING_SLOT.release()
        assert not took  # the first upload holds the only slot
        second.start()  # and the second waits for it
    finally:
        let_first_finish.set()
        first.join(30)
        if second.ident:
            second.join(30)
    assert order == ["first opens", "first done", "second opens", "second done"]
    assert results["first"].data == results["second"].data
    assert PROCESSING_SLOT.acquire(blocking=False)  # free again
    PROCESSING_SLOT.release()


def test_a_host_cannot_touch_another_hosts_image(app, client, db_session, host_event):
    other_event = make_event(host=make_member(is_host=True))
    storage = app.extensions["image_storage"]
    os.makedirs(storage.root, exist_ok=True)
    name = "0123456789abcdef0123456789abcdef.png"
    with open(os.path.join(storage.root, name), "wb") as file:
        file.write(image_bytes("PNG"))
    theirs = make_image(other_event, position=0, alt_text="theirs", storage_id=f"local:{name}")
    make_image(other_event, position=1, alt_text="also theirs")
    db_session.commit()
    token = csrf_token(client, f"/host/events/{host_event.slug}/images/")
    attempts = [
        (f"/host/events/{host_event.slug}/images/{theirs.id}/delete/", {}),
        (f"/host/events/{host_event.slug}/images/{theirs.id}/move/", {"direction": "down"}),
        (f"/host/events/{other_event.slug}/images/{theirs.id}/delete/", {}),
        (f"/host/events/{other_event.slug}/images/{theirs.id}/move/", {"direction": "down"}),
    ]
    try:
        for url, fields in attempts:
            response = client.post(url, data={"csrf_token": token, **fields})
            assert response.status_code == 404, url
            assert "Page not found" in response.get_data(as_text=True)
        db.session.expire_all()
        rows = [(row.id, row.position, row.alt_text) for row in image_rows(other_event)]
        assert rows[0] == (theirs.id, 0, "theirs")
        assert [alt for _, _, alt in rows] == ["theirs", "also theirs"]
        assert os.path.exists(os.path.join(storage.root, name))
    finally:
        os.remove(os.path.join(storage.root, name))


class FakeUploadAPI(BaseHTTPRequestHandler):
    """Stands in for Cloudinary's upload API; records what the real SDK sends."""

    requests: ClassVar[list] = []
    fail = False

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FakeUploadAPI.requests.append((self.path, self.headers.get("Content-Type"), body))
        if FakeUploadAPI.fail:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "storage on fire"}}')
            return
        payload = {"public_id": "eventmate/abc123", "version": 1700000000, "format": "jpg",
                   "secure_url": "https://res.cloudinary.com/demo/image/upload/x.jpg"}  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def cloudinary_backend(app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeUploadAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeUploadAPI.requests, FakeUploadAPI.fail = [], False
    url = f"cloudinary://key123:secret456@demo?upload_prefix=http://127.0.0.1:{server.server_port}"
    cloudinary.reset_config()
    cloudinary.config(**cloudinary_settings(url))
    previous = app.extensions["image_storage"]
    app.extensions["image_storage"] = CloudinaryStorage()
    yield FakeUploadAPI
    app.extensions["image_storage"] = previous
    cloudinary.reset_config()
    server.shutdown()
    server.server_close()


def test_cloudinary_backend_uploads_through_the_sdk(
    client, db_session, host_event, cloudinary_backend
):
    response = upload(client, host_event, image_bytes())
    assert response.status_code == 303
    [(path, content_type, body)] = cloudinary_backend.requests
    assert path == "/v1_1/demo/image/upload"
    assert content_type.startswith("multipart/form-data")
    assert b'name="api_key"' in body
    assert b"key123" in body
    assert b'name="folder"' in body
    assert b'name="signature"' in body
    assert b"secret456" not in body  # signed, never sent
    assert b"\xff\xd8" in body  # the re-encoded JPEG itself
    [row] = image_rows(host_event)
    assert row.storage_id == "cloudinary:eventmate/abc123"
    assert row.url == (
        "https://res.cloudinary.com/demo/image/upload/"
        "c_limit,f_auto,q_auto,w_1600/v1700000000/eventmate/abc123"
    )


def test_a_failed_upload_saves_nothing(client, db_session, host_event, cloudinary_backend):
    cloudinary_backend.fail = True
    response = upload(client, host_event, image_bytes())
    assert response.status_code == 400
    assert "couldn&#39;t store that image" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EventImage)) == 0


# --- a first image on the create form ------------------------------------------------------


def create_with_image(client, city, data: bytes | None, alt: str):
    from tests.test_hosts import event_data

    form = {**event_data(city), "csrf_token": csrf_token(client, "/host/events/new/"),
            "image_alt": alt}  # fmt: skip
    if data is not None:
        form["image"] = (io.BytesIO(data), "poster.png")
    return client.post("/host/events/new/", data=form, content_type="multipart/form-data")


def new_events() -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.title == "Fado by the River")))


def test_the_create_form_takes_a_first_image(client, db_session, host, lisbon):
    assert 'enctype="multipart/form-data"' in client.get("/host/events/new/").get_data(as_text=True)

    response = create_with_image(client, lisbon, image_bytes("PNG"), "Singers by the river")

    assert response.status_code == 303
    [event] = new_events()
    assert [(row.position, row.alt_text) for row in image_rows(event)] == [
        (0, "Singers by the river")
    ]
    assert response.headers["Location"] == f"/host/events/{event.slug}/preview/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)  # the draft's
    assert 'alt="Singers by the river"' in page


def test_a_bad_first_image_saves_nothing(client, db_session, host, lisbon):
    response = create_with_image(client, lisbon, b"not an image at all", "Words")
    assert response.status_code == 400
    assert "valid JPEG, PNG or WebP" in response.get_data(as_text=True)
    assert new_events() == []


def test_a_first_image_needs_its_alt_text(client, db_session, host, lisbon):
    response = create_with_image(client, lisbon, image_bytes("PNG"), "  ")
    assert response.status_code == 400
    assert "Add a short description of the image (alt text)." in response.get_data(as_text=True)
    assert new_events() == []
