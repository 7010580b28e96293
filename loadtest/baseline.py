"""The yardstick: a bare Flask "hello" served by the same gunicorn configuration as EventMate.

`gunicorn -c gunicorn.conf.py loadtest.baseline:app`, with the same environment and the same
`wrk` settings, measures what this machine, gunicorn and Flask give before EventMate does any
work; `loadtest/run` reports every throughput figure as a ratio to it.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, world!\n"


@app.get("/health/ready/")
def ready():
    return {"status": "ok"}
