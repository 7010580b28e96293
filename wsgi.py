"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`, `flask` commands, and the job
queue: `celery -A wsgi:celery worker` and `celery -A wsgi:celery beat`."""

import os

from eventmate import create_app

# EVENTMATE_INSTANCE_PATH moves instance/ (SQLite file, sessions, media); tests use a temp dir.
app = create_app(instance_path=os.environ.get("EVENTMATE_INSTANCE_PATH") or None)
celery = app.extensions["celery"]
