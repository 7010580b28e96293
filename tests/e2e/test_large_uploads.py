"""Through real gunicorn, an oversized upload gets the 413 page, not a dropped connection."""

import http.client
import urllib.parse


def test_oversized_upload_gets_a_413_page(site):
    parts = urllib.parse.urlsplit(site.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = b"\0" * (12 * 1024 * 1024)
    connection.request(
        "POST",
        "/host/events/anything/images/",
        body=body,
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    response = connection.getresponse()
    page = response.read().decode()
    connection.close()
    assert response.status == 413
    assert "That upload is too large" in page
