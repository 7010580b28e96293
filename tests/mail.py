"""Reading the email the app sent: the .eml files of a file:// MAIL_URL (the test default:
tasks run in-process and write to the instance's outbox/), or a real SMTP server's inbox."""

from __future__ import annotations

import re
import shutil
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask


def outbox_folder(app: Flask) -> Path:
    url = app.config["MAIL_URL"]
    assert url.startswith("file://"), url
    return Path(urlsplit(url).path)


def sent_emails(app: Flask) -> list[EmailMessage]:
    """Every message written so far, oldest first."""
    folder = outbox_folder(app)
    files = sorted(folder.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
    return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]


def clear_outbox(app: Flask) -> None:
    shutil.rmtree(outbox_folder(app), ignore_errors=True)


def emails_to(app: Flask, address: str, kind: str | None = None) -> list[EmailMessage]:
    return [
        email for email in sent_emails(app)
        if email["To"] == address and (kind is None or email["X-EventMate-Kind"] == kind)
    ]  # fmt: skip


def text_of(email: EmailMessage) -> str:
    return email.get_body(preferencelist=("plain",)).get_content()


def html_of(email: EmailMessage) -> str:
    return email.get_body(preferencelist=("html",)).get_content()


def links_in(email: EmailMessage) -> list[str]:
    """The site paths the plain-text part links to (scheme and host dropped)."""
    return [urlsplit(url).path for url in re.findall(r"https?://\S+", text_of(email))]


def attachments_of(email: EmailMessage) -> dict[str, tuple[str, bytes]]:
    """filename -> (content type, bytes)."""
    return {
        part.get_filename(): (part.get_content_type(), part.get_content())
        for part in email.iter_attachments()
    }


def site_links_in(email: EmailMessage) -> list[str]:
    """As links_in, with each link's query string kept (an account link's token is `?key=`)."""
    links = [urlsplit(url) for url in re.findall(r"https?://\S+", text_of(email))]
    return [link.path + (f"?{link.query}" if link.query else "") for link in links]
