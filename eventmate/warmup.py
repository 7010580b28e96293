"""Warm gunicorn's master before it forks: the page templates (when_ready, with preload_app).
Workers open their PostgreSQL and Redis connections as requests need them: behind the edge,
which bounds the requests a worker runs at once, filling the pools first measured no faster
(loadtest/RESULTS.md)."""

from __future__ import annotations

import logging

from flask import Flask

log = logging.getLogger(__name__)


def compile_templates(app: Flask) -> int:
    """Compile every template once, in gunicorn's master (preload_app), so that each worker,
    a recycled one too, is forked with them compiled. Otherwise each new worker compiled them
    while serving its first requests: 97 ms of CPU for the 25 templates here, and a fresh
    worker's first search page took 111 ms instead of 54. Workers are recycled every
    10,000 requests or so: at the load test's rate, each about every 80 s."""
    env = app.jinja_env
    names = [name for name in env.list_templates() if name.endswith((".html", ".xml"))]
    for name in names:
        env.get_template(name)
    log.info("compiled %d templates", len(names))
    return len(names)
