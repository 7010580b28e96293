"""Accounts: register and confirm the address, log in, log out, reset a forgotten password."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from eventmate.auth import routes  # noqa: E402,F401  (registers the views on bp)
