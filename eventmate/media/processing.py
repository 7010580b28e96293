"""Accept only real JPEG, PNG or WebP images, and re-encode them without their metadata.

The bytes are decoded with Pillow, never trusted by extension or declared type, and a file
with anything after the image's own end (an image followed by HTML, say) is refused.

Decoding is the expensive part: a small PNG can state 6320 × 6320 pixels and need half a
gigabyte to decode. So the size is checked from the header (Pillow reads only that on open),
the image is opened and decoded once, and each worker processes one image at a time.
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Checked from the header, before decoding: 16 MP is up to 64 MB decoded (RGBA).
MAX_PIXELS = 16_000_000
MAX_DIMENSION = 2000  # stored images are capped to this width and height
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
TOO_MANY_PIXELS = (
    "That image has too many pixels: at most 16 megapixels (4000 × 4000, say). "
    "Please upload a smaller one."
)

# One image decoded at a time per process, so concurrent uploads can't add up their decoded
# sizes. Under gunicorn's gevent workers `threading` is monkey-patched before this module is
# imported (gunicorn.conf.py), so this is a greenlet-aware semaphore and waiting for it yields
# to other requests; with threads (gthread, `flask run`) it is an ordinary one.
PROCESSING_SLOT = threading.BoundedSemaphore(1)


class ImageRejected(ValueError):
    """A user-facing reason an upload is not an acceptable image."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: str
    width: int
    height: int

    @property
    def mimetype(self) -> str:
        return FORMATS[self.format][0]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:32]


def clean_image(data: bytes) -> CleanImage:
    if not data:
        raise ImageRejected("Choose an image file to upload.")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRejected("That image is larger than 5 MB. Please upload a smaller one.")
    with PROCESSING_SLOT:
        return _process(data)


def _process(data: bytes) -> CleanImage:
    """Open once: checks on the header, then one decode, then re-encode the same image."""
    try:
        # Pillow warns (and past twice its limit, raises) on open for images far larger than
        # ours; either way the answer is ours, not a warning in the log.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected("That file isn't a valid JPEG, PNG or WebP image.") from None
    with image:
        image_format = image.format
        if image_format not in FORMATS:
            raise ImageRejected("Upload a JPEG, PNG or WebP image.")
        if image.width * image.height > MAX_PIXELS:
            raise ImageRejected(TOO_MANY_PIXELS)
        _check_nothing_trails(data, image_format)
        try:
            # The one decode. thumbnail() decodes a JPEG at a reduced scale where it can; an
            # image already small enough is decoded by load(). Truncated or corrupt data fails.
            image.thumbnail((MAX_DIMENSION, MAX_DIMENSION))
            image.load()
        except (OSError, SyntaxError, ValueError):
            raise ImageRejected("That file isn't a valid JPEG, PNG or WebP image.") from None
        return _reencode(image, image_format)


def _check_nothing_trails(data: bytes, image_format: str) -> None:
    """Polyglot files (an image with HTML or script appended) end after the image does."""
    if image_format == "JPEG":
        ends_cleanly = data.rstrip(b"\x00").endswith(b"\xff\xd9")
    elif image_format == "PNG":
        ends_cleanly = data.endswith(b"IEND\xaeB`\x82")
    else:  # WebP: the RIFF header states the file's length
        ends_cleanly = len(data) >= 12 and struct.unpack("<I", data[4:8])[0] + 8 == len(data)
    if not ends_cleanly:
        raise ImageRejected("That file has extra data after the image, so we can't accept it.")


def _reencode(image: Image.Image, image_format: str) -> CleanImage:
    """Save again: drops EXIF (GPS!) and other metadata. The orientation is applied first, so
    photos stay the right way up (after the resize: the bounding box is square)."""
    ImageOps.exif_transpose(image, in_place=True)
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if image_format != "JPEG" and image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    output = io.BytesIO()
    options = {"JPEG": {"quality": 85, "optimize": True, "progressive": True},
               "PNG": {"optimize": True},
               "WEBP": {"quality": 85, "method": 4}}[image_format]  # fmt: skip
    image.save(output, format=image_format, **options)
    return CleanImage(output.getvalue(), image_format, image.width, image.height)
