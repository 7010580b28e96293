"""The load test's stand-in for a mail relay: an SMTP server (aiosmtpd, as in the tests) in a
process of its own, at a low CPU priority (a relay is another machine: its work shouldn't
take the app's cores), appending the send key of each message it accepts to a file.

    python -m loadtest.sink --port PORT --keys FILE
"""

from __future__ import annotations

import argparse
import signal
import threading

from tests.smtp import Inbox, smtp_server


class KeyFile(Inbox):
    """Writes each accepted message's send key as it comes (line-buffered: read while it runs)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        answer = await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.file.write(f"{self.messages.pop()['X-EventMate-Send-Key']}\n")
        return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", required=True)
    options = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with smtp_server(options.port, KeyFile(options.keys)):
        print(f"SMTP sink on 127.0.0.1:{options.port}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
