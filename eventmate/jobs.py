"""Celery, created by the app factory (Flask's "Background Tasks with Celery" pattern).

Tasks live in the feature packages (`notifications/tasks.py`, `bookings/tasks.py`,
`waitlist/tasks.py`) as `shared_task`s and run inside an app context. The worker and beat are
`celery -A wsgi:celery worker` and `celery -A wsgi:celery beat`; with no Redis (the embedded
default) tasks run eagerly in the process that queues them (config.py).
"""

from __future__ import annotations

from datetime import timedelta

from celery import Celery, Task
from flask import Flask, has_app_context


def beat_schedule(config) -> dict:
    """Periodic work, run by `celery beat`. Each job is safe to run twice or late."""
    return {
        "outbox-sweep": {"task": "notifications.sweep",
                         "schedule": timedelta(seconds=config["OUTBOX_SWEEP_SECONDS"])},
        "booking-reminders": {"task": "bookings.send_reminders",
                              "schedule": timedelta(minutes=10)},
        # Held seats whose time ran out go to the next in line; started events' lines close.
        "waitlist-holds": {"task": "waitlist.expire_holds", "schedule": timedelta(minutes=1)},
    }  # fmt: skip


TASK_MODULES = (
    "eventmate.notifications.tasks", "eventmate.bookings.tasks", "eventmate.waitlist.tasks",
)  # fmt: skip


def init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            if has_app_context():  # eager, inside a request or a command: its context
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask, include=TASK_MODULES)
    celery.config_from_object(app.config["CELERY"])
    celery.conf.beat_schedule = beat_schedule(app.config)
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
