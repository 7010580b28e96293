from flask import Blueprint

bp = Blueprint("health", __name__, url_prefix="/health")

from eventmate.health import routes  # noqa: E402,F401  (registers the views on bp)
