"""Accept only real JPEG, PNG or WebP images, and re-encode them without their metadata.

The bytes are decoded with Pillow, never trusted by extension or declared type, and a file
with anything after the image's own end (an image followed by HTML, say) is refused.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs long before they eat memory
MAX_DIMENSION = 2000  # stored images are capped to this width and height
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


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
    image_format = _decode_and_verify(data)
    _check_nothing_trails(data, image_format)
    return _reencode(data, image_format)


def _decode_and_verify(data: bytes) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format
                if image_format not in FORMATS:
                    raise ImageRejected("Upload a JPEG, PNG or WebP image.")
                if image.width * image.height > MAX_PIXELS:
                    raise ImageRejected("That image has too many pixels.")
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # a full decode catches truncated or corrupt data verify() misses
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):  # fmt: skip
        raise ImageRejected("That file isn't a valid JPEG, PNG or WebP image.") from None
    return image_format


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


def _reencode(data: bytes, image_format: str) -> CleanImage:
    """Decode and save again: drops EXIF (GPS!) and other metadata, caps the size."""
    with Image.open(io.BytesIO(data)) as image:
        image = _upright(image)
        image.thumbnail((MAX_DIMENSION, MAX_DIMENSION))
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


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation before the EXIF is dropped, so photos stay the right way up."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(image) or image
