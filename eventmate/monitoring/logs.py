"""Logging: INFO to stdout by default, JSON lines optionally, and a rotating file when LOG_FILE
is set. Every record made during a request carries its request id."""

from __future__ import annotations

import json
import logging
import sys
from logging.handlers import RotatingFileHandler

from flask import Flask, g, has_request_context
from flask.logging import default_handler

LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_BACKUPS = 10
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s (request %(request_id)s)"


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is now (test runners swap it), not the one at set-up."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure_logging(app: Flask) -> None:
    """Handlers on the `eventmate` logger (our modules and the app's), replaced on every call,
    so building many apps (tests) doesn't stack them; records still propagate to the root."""
    logger = logging.getLogger("eventmate")
    logger.removeHandler(default_handler)
    for handler in [h for h in logger.handlers if getattr(h, "eventmate", False)]:
        logger.removeHandler(handler)
        handler.close()
    formatter = (
        JsonFormatter() if app.config["LOG_FORMAT"] == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handlers: list[logging.Handler] = [StdoutHandler()]
    if app.config["LOG_FILE"]:
        handlers.append(
            RotatingFileHandler(
                app.config["LOG_FILE"], maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS,
                encoding="utf-8", delay=True,
            )
        )  # fmt: skip
    for handler in handlers:
        handler.eventmate = True
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
    logger.setLevel(app.config["LOG_LEVEL"])
