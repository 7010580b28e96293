"""Compression and static files.

Responses with a text type (COMPRESS_MIMETYPES) above COMPRESS_MIN_SIZE are compressed by
Flask-Compress: brotli when the client accepts it, gzip otherwise, with `Vary: Accept-Encoding`.

Static files are prepared ahead of time by Flask-Static-Digest: `flask digest compile` writes,
next to each file in the static folder, a copy named by its md5 (`site-<md5>.css`), `.br` and
`.gz` siblings, and `cache_manifest.json`; `static_url_for()` in templates uses the hashed name
when the manifest exists and the plain one otherwise. Flask's static view is replaced by
`static_file`, which sends the precompressed sibling the client accepts (Flask-Compress leaves a
response that already has a Content-Encoding alone) and marks hashed names immutable for a
year. It stays a Flask view, so the security headers apply to static files too.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterable

from flask import Flask, Response, current_app, request, send_from_directory
from flask_compress import Compress
from flask_static_digest import FlaskStaticDigest
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from eventmate.security import ONE_YEAR

# (Content-Encoding, file suffix), preferred first when the client accepts both equally.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))


def init_app(app: Flask) -> None:
    # Both extensions keep their settings on the instance (see Talisman in eventmate/security),
    # so each app gets its own instead of sharing one from extensions.py.
    compress = Compress()
    app.config["COMPRESS_REGISTER"] = False  # registered by eventmate/middleware.py, wrapped
    compress.init_app(app)
    app.extensions["compress"] = compress
    load_manifest(app)
    app.view_functions["static"] = static_file


def compression(app: Flask) -> Callable[[Response], Response]:
    """Flask-Compress's after_request, shown only the encoding we negotiated.

    Flask-Compress 1.25 compresses with an encoding the client refused (`br;q=0`) when it is
    the only one named, so it gets our choice (or `identity`) instead of the raw header.
    """
    compress = app.extensions["compress"]

    def compress_response(response: Response) -> Response:
        if response.is_streamed and hasattr(response.response, "close"):
            # Compressing a streamed body swaps it for a generator and drops the original,
            # whose close() (a static file's) would then never run.
            response.call_on_close(response.response.close)
        environ = request.environ
        original = environ.get("HTTP_ACCEPT_ENCODING")
        environ["HTTP_ACCEPT_ENCODING"] = (
            preferred_encoding(compress.enabled_algorithms) or "identity"
        )
        try:
            return compress.after_request(response)
        finally:
            if original is None:
                del environ["HTTP_ACCEPT_ENCODING"]
            else:
                environ["HTTP_ACCEPT_ENCODING"] = original

    return compress_response


def preferred_encoding(candidates: Iterable[str]) -> str | None:
    """The candidate the client accepts with the highest quality (the first one on ties)."""
    accepted = request.accept_encodings
    best = max(candidates, key=accepted.quality, default=None)
    return best if best is not None and accepted.quality(best) > 0 else None


def load_manifest(app: Flask) -> None:
    """Read the static folder's cache_manifest.json (once, at start-up), if there is one."""
    digest = FlaskStaticDigest(app)
    app.extensions["static_digest"] = digest
    app.extensions["static_hashed_names"] = frozenset(digest.manifests.get("static", {}).values())


def static_file(filename: str) -> Response:
    """Flask's static view, plus precompressed siblings and long caching for hashed names."""
    if filename.endswith(tuple(suffix for _, suffix in PRECOMPRESSED)):
        raise NotFound()  # the siblings are reached through Accept-Encoding only
    folder = current_app.static_folder
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    path, encoding = _precompressed_variant(folder, filename, mimetype)
    hashed = filename in current_app.extensions["static_hashed_names"]
    max_age = ONE_YEAR if hashed else current_app.config["STATIC_FILE_MAX_AGE"]
    response = send_from_directory(
        folder, path, mimetype=mimetype, download_name=os.path.basename(filename), max_age=max_age
    )
    if hashed:
        response.cache_control.immutable = True
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.vary.add("Accept-Encoding")
    return response


def _precompressed_variant(folder: str, filename: str, mimetype: str) -> tuple[str, str | None]:
    """The file to send and its Content-Encoding: the best accepted sibling, else the file."""
    original = safe_join(folder, filename)
    if (
        mimetype not in current_app.config["COMPRESS_MIMETYPES"]
        or original is None
        or not os.path.isfile(original)
    ):
        return filename, None
    suffixes = {enc: suffix for enc, suffix in PRECOMPRESSED if os.path.isfile(original + suffix)}
    encoding = preferred_encoding(suffixes)
    return (filename + suffixes[encoding], encoding) if encoding else (filename, None)
