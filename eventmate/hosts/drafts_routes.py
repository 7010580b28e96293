"""A new event is a draft: its host previews it as visitors will see it, then publishes it."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, url_for

from eventmate.events.queries import RatingSummary
from eventmate.events.routes import render_event_page
from eventmate.hosts import bp
from eventmate.hosts.access import host_required, managed_event
from eventmate.hosts.routes import refused_on_dashboard
from eventmate.hosts.services import EventNotPublishable, ListingSuspended, publish_event


@bp.get("/events/<slug:slug>/preview/")
@host_required
def preview(slug: str):
    """The event's page with a banner, for its host only (a host page: `private, no-store`,
    never stored by the page cache or the edge). A published event has its own page."""
    event = managed_event(slug)
    if not event.is_draft:
        return redirect(url_for("events.detail", slug=slug), code=303)
    # A draft has had no bookings, so no reviews either.
    return render_event_page("hosts/preview.html", event, RatingSummary(None, 0), datetime.now(UTC))


@bp.post("/events/<slug:slug>/publish/")
@host_required
def publish(slug: str):
    event = managed_event(slug)
    try:
        published = publish_event(event, datetime.now(UTC))
    except (ListingSuspended, EventNotPublishable) as refused:
        return refused_on_dashboard(event, refused)
    if not event.is_listed:  # published, but hidden by its host: the dashboard says so
        flash(f"“{event.title}” is published, but hidden: Reactivate it to list it.", "info")
        return redirect(url_for("hosts.dashboard"), code=303)
    if published:
        flash(f"“{event.title}” is published: it is on the site now.", "success")
    return redirect(url_for("events.detail", slug=slug), code=303)
