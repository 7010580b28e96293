"""Hosts manage their own listings: create, edit, (de)activate, attendees, images."""

from flask import Blueprint

bp = Blueprint("hosts", __name__, url_prefix="/host")

# (Importing them registers the views on bp.)
from eventmate.hosts import images_routes, onboarding_routes, routes  # noqa: E402,F401
