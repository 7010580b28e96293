"""Serving locally stored images. Names are content hashes, so they can be cached forever."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, send_from_directory

from eventmate.security import ONE_YEAR

bp = Blueprint("media", __name__)


@bp.get("/media/<path:filename>")
def file(filename: str):
    response = send_from_directory(
        os.path.join(current_app.instance_path, "media"), filename, max_age=ONE_YEAR
    )
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
