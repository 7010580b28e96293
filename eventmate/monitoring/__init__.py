"""Operations: request ids, Server-Timing, slow-request warnings, logging and Prometheus
metrics (`/metrics/`); access.py decides who sees the timings and the metrics."""

from __future__ import annotations

from flask import Flask

from eventmate.monitoring import request_context
from eventmate.monitoring.logs import configure_logging


def init_app(app: Flask) -> None:
    configure_logging(app)
    request_context.init_app(app)
