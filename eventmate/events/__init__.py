from flask import Blueprint

bp = Blueprint("events", __name__)

from eventmate.events import routes  # noqa: E402,F401  (registers the views on bp)
