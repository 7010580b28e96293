"""The Celery app the factory makes (eventmate/jobs.py, config.py's CELERY)."""

from __future__ import annotations

import threading


def test_every_thread_shares_one_result_backend(app):
    """Celery makes a result backend per thread unless told it is thread-safe, and under
    gevent every request is a thread: each booking's task built one anew, reading every
    installed package's entry points (6% of gunicorn's CPU in the Locust run)."""
    celery = app.extensions["celery"]
    first = celery.backend
    seen = []
    thread = threading.Thread(target=lambda: seen.append(celery.backend))
    thread.start()
    thread.join()
    assert seen[0] is first
    assert celery.conf.task_ignore_result is True  # and it stores nothing
