"""Where image files live. One small interface, two backends, chosen by configuration."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from flask import Flask, current_app, url_for

from eventmate.media.processing import CleanImage

CLOUDINARY_FOLDER = "eventmate"
# Delivered images: best format and quality for the browser, never wider than this.
CLOUDINARY_DELIVERY = {"fetch_format": "auto", "quality": "auto", "width": 1600, "crop": "limit"}


@dataclass(frozen=True)
class StoredImage:
    url: str
    storage_id: str


class ImageStorage(Protocol):
    def save(self, image: CleanImage) -> StoredImage: ...

    def delete(self, storage_id: str) -> None: ...


class LocalStorage:
    """Files under instance/media, served by the app at /media/ (content-addressed names)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def save(self, image: CleanImage) -> StoredImage:
        name = f"{image.digest}.{image.extension}"
        os.makedirs(self.root, exist_ok=True)
        path = os.path.join(self.root, name)
        if not os.path.exists(path):
            temporary = f"{path}.{os.getpid()}.part"
            with open(temporary, "wb") as file:
                file.write(image.data)
            os.replace(temporary, path)  # readers never see half a file
        return StoredImage(url_for("media.file", filename=name), f"local:{name}")

    def delete(self, storage_id: str) -> None:
        name = storage_id.removeprefix("local:")
        if "/" in name or name.startswith("."):
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.root, name))


class CloudinaryStorage:
    """Uploads through the official SDK (configured by CLOUDINARY_URL)."""

    def save(self, image: CleanImage) -> StoredImage:
        import cloudinary.uploader

        result = cloudinary.uploader.upload(
            image.data,
            folder=CLOUDINARY_FOLDER,
            public_id=image.digest,
            resource_type="image",
            overwrite=False,
            timeout=30,
        )
        return StoredImage(delivery_url(result["public_id"], result.get("version")),
                           f"cloudinary:{result['public_id']}")  # fmt: skip

    def delete(self, storage_id: str) -> None:
        import cloudinary.uploader

        cloudinary.uploader.destroy(storage_id.removeprefix("cloudinary:"), invalidate=True)


def delivery_url(public_id: str, version: int | str | None) -> str:
    import cloudinary

    url, _ = cloudinary.utils.cloudinary_url(
        public_id, secure=True, version=version, **CLOUDINARY_DELIVERY
    )
    return url


def cloudinary_settings(url: str) -> dict:
    """cloudinary://KEY:SECRET@CLOUD?option=value → the SDK's config keywords."""
    parts = urlsplit(url)
    if parts.scheme != "cloudinary" or not parts.hostname:
        raise ValueError("CLOUDINARY_URL must look like cloudinary://KEY:SECRET@CLOUD_NAME")
    settings = {"cloud_name": parts.hostname, "api_key": parts.username,
                "api_secret": parts.password}  # fmt: skip
    settings.update({key: values[0] for key, values in parse_qs(parts.query).items()})
    return settings


def init_app(app: Flask) -> None:
    if app.config.get("CLOUDINARY_URL"):
        import cloudinary

        cloudinary.reset_config()
        cloudinary.config(**cloudinary_settings(app.config["CLOUDINARY_URL"]))
        app.extensions["image_storage"] = CloudinaryStorage()
    else:
        app.extensions["image_storage"] = LocalStorage(os.path.join(app.instance_path, "media"))


def image_storage() -> ImageStorage:
    return current_app.extensions["image_storage"]
