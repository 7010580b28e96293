"""Where email goes, from MAIL_URL: an SMTP server, or .eml files in a folder."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

SMTP_TIMEOUT = 10  # seconds per network step


class Connection(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class FileMailer:
    """Each message becomes one .eml file (written whole, then renamed into place)."""

    folder: Path

    @contextmanager
    def connect(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        yield self

    def send(self, message: EmailMessage) -> None:
        name = f"{message['X-EventMate-Kind']}-{uuid.uuid4().hex[:12]}.eml"
        partial = self.folder / f".{name}.part"
        partial.write_bytes(message.as_bytes())
        partial.rename(self.folder / name)


@dataclass(frozen=True)
class SMTPMailer:
    host: str
    port: int
    username: str | None
    password: str | None
    security: str  # "none", "starttls" or "tls"

    @contextmanager
    def connect(self):
        """One SMTP session for a batch of messages."""
        if self.security == "tls":
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        try:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            yield smtp_connection(smtp)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def smtp_connection(smtp: smtplib.SMTP) -> Connection:
    class Session:
        def send(self, message: EmailMessage) -> None:
            smtp.send_message(message)

    return Session()


def mailer_for(url: str) -> FileMailer | SMTPMailer:
    """smtp://user:pass@host:port[?starttls=true], smtps://user:pass@host:port, file:///dir."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileMailer(Path(unquote(parts.path)))
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"MAIL_URL: unknown scheme {parts.scheme!r} (smtp, smtps or file)")
    options = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "smtps":
        security, default_port = "tls", 465
    elif options.get("starttls") in ("1", "true", "yes"):
        security, default_port = "starttls", 587
    else:
        security, default_port = "none", 25
    return SMTPMailer(
        host=parts.hostname or "localhost",
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        security=security,
    )
