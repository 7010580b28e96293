"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app`, and `flask` commands."""

from eventmate import create_app

app = create_app()
