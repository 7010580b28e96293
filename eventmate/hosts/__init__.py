"""Hosts manage their own listings: create (a draft), preview and publish, edit,
(de)activate, attendees, images."""

from flask import Blueprint

bp = Blueprint("hosts", __name__, url_prefix="/host")

# (Importing them registers the views on bp.)
from eventmate.hosts import (  # noqa: E402,F401
    drafts_routes,
    images_routes,
    onboarding_routes,
    routes,
)
