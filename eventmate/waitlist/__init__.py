"""An event's waitlist: joining when it is sold out, offers of freed seats, claiming them."""

from flask import Blueprint

bp = Blueprint("waitlist", __name__)

from eventmate.waitlist import routes  # noqa: E402,F401  (registers the views on bp)
