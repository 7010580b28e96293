"""A real SMTP server for tests (aiosmtpd on a free port), keeping what it receives."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.live import free_port


class Inbox:
    """Messages as received, in order; `refusing` makes the server answer 451 (try later)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refusing = False
        self.lock = threading.Lock()
        # While `stalled` is set, a client that names a recipient waits for the answer, before
        # any of the message is sent: it is mid-send. `waiting` says one is.
        self.stalled = threading.Event()
        self.waiting = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        while self.stalled.is_set():
            self.waiting.set()
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        if self.refusing:
            return "451 4.3.0 Try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def send_keys(self) -> list[str]:
        with self.lock:
            return [message["X-EventMate-Send-Key"] for message in self.messages]


@contextmanager
def smtp_server(port: int | None = None, inbox: Inbox | None = None) -> Iterator[tuple[str, Inbox]]:
    """Yields (MAIL_URL, inbox) of a server on `port` (a free one if None) running until the
    block ends."""
    inbox = inbox or Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()
