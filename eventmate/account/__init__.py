"""The member's own account page: name, password, email address, deleting the account."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from eventmate.account import routes  # noqa: E402,F401  (registers the views on bp)
