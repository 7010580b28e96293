from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload

from eventmate.events.queries import all_cities
from eventmate.extensions import db
from eventmate.hosts import bp
from eventmate.hosts.access import host_required, managed_event
from eventmate.hosts.forms import CancelEventForm, EventForm, NewEventForm, local_value
from eventmate.hosts.images import UploadFailed, add_image
from eventmate.hosts.services import (
    CapacityBelowBookings,
    EventNotCancellable,
    ListingSuspended,
    attendees,
    attendees_csv,
    cancel_event,
    create_event,
    set_active,
    update_event,
)
from eventmate.media.processing import ImageRejected, clean_image
from eventmate.media.storage import image_storage
from eventmate.models import Event
from eventmate.waitlist.queries import waiting_count


@bp.get("/")
@host_required
def dashboard():
    return _dashboard()


def _dashboard(refusal: str | None = None, status: int = 200):
    now = datetime.now(UTC)
    upcoming_first = case((Event.starts_at >= now, 0), else_=1)
    events = db.session.execute(  # (event, its waitlist's length) rows
        select(Event, waiting_count())
        .where(Event.host_id == current_user.id)
        .options(joinedload(Event.city))
        .order_by(upcoming_first, Event.starts_at)
    ).all()
    page = render_template("hosts/dashboard.html", events=events, now=now, refusal=refusal)
    return page, status


@bp.route("/events/new/", methods=["GET", "POST"])
@host_required
def new_event():
    form = NewEventForm(all_cities(), is_new=True)
    if form.validate_on_submit():
        # A first image, if one came: checked before anything is saved, stored after.
        upload = form.image.data
        data = upload.read(current_app.config["MAX_CONTENT_LENGTH"] + 1) if upload else b""
        cleaned = None
        if data:
            try:
                cleaned = clean_image(data)
            except ImageRejected as error:
                form.image.errors = [str(error)]
        if not form.image.errors:
            event = create_event(current_user, form)  # a draft, until it is published
            message = "Your draft is saved. Check it, then publish it when it's ready."
            if cleaned is not None:
                try:
                    add_image(event, data, form.image_alt.data, image_storage(),
                              current_app.config["MAX_IMAGES_PER_EVENT"], cleaned)  # fmt: skip
                    message = "Your draft is saved, with its image. Check it, then publish it."
                except UploadFailed as error:
                    message = f"Your draft is saved, but its image wasn't: {error}"
            flash(message, "success")
            return redirect(url_for("hosts.preview", slug=event.slug), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("hosts/event_form.html", form=form, event=None), status


@bp.route("/events/<slug:slug>/edit/", methods=["GET", "POST"])
@host_required
def edit_event(slug: str):
    event = managed_event(slug)
    form = EventForm(all_cities(), obj=event, is_new=False, stored=event)
    if request.method == "GET":
        zone = event.city.zone
        form.starts_at.data = local_value(event.starts_at, zone)
        form.ends_at.data = local_value(event.ends_at, zone)
    if form.validate_on_submit():
        try:
            update_event(event, form)
        except CapacityBelowBookings as error:
            form.capacity.errors = [
                *form.capacity.errors,
                f"{error.args[0]} seats are already booked or held for the waitlist, so the "
                "capacity can't be lower.",
            ]
        else:
            flash("Changes saved.", "success")
            return redirect(url_for("hosts.dashboard"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("hosts/event_form.html", form=form, event=event), status


@bp.route("/events/<slug:slug>/deactivate/", methods=["GET", "POST"])
@host_required
def deactivate(slug: str):
    """Taking a listing off the site takes a second step: GET says what it does."""
    if request.method == "GET":
        event = managed_event(slug)
        if not event.is_active or event.is_cancelled:
            return redirect(url_for("hosts.dashboard"), code=303)
        return render_template("hosts/deactivate.html", event=event)
    return _switch_listing(slug, False, "“{}” is hidden from the site. Bookings are kept.")


@bp.post("/events/<slug:slug>/reactivate/")
@host_required
def reactivate(slug: str):
    return _switch_listing(slug, True, "“{}” is listed again.")


def _switch_listing(slug: str, active: bool, message: str):
    event = managed_event(slug)
    try:
        set_active(event, active)
    except (ListingSuspended, EventNotCancellable) as refused:
        return refused_on_dashboard(event, refused)
    flash(message.format(event.title), "success" if active else "info")
    return redirect(url_for("hosts.dashboard"), code=303)


def refused_on_dashboard(event: Event, refused: Exception):
    """A 409 with the dashboard, not a redirect: the answer says why, with no flash needed."""
    if isinstance(refused, ListingSuspended):
        reason = refused.reason.rstrip(".")
        return _dashboard(
            f"“{event.title}” was suspended by an administrator: {reason}. "
            "It can't be listed again until an administrator lifts the suspension.",
            409,
        )
    return _dashboard(f"“{event.title}”: {refused}", 409)


@bp.route("/events/<slug:slug>/cancel/", methods=["GET", "POST"])
@host_required
def cancel(slug: str):
    """Calling an event off takes a second step: this page says what will happen."""
    event = managed_event(slug)
    form = CancelEventForm()
    status = 200
    if form.validate_on_submit():
        try:
            count = cancel_event(event, form.reason.data or "")
        except EventNotCancellable as refused:
            form.form_errors.append(str(refused))
            status = 409
        else:
            told = f" Its {count} booking(s) are cancelled and the attendees told." if count else ""
            flash(f"“{event.title}” is cancelled.{told}", "info")
            return redirect(url_for("hosts.dashboard"), code=303)
    elif form.is_submitted():
        status = 400
    return render_template("hosts/cancel_event.html", event=event, form=form), status


@bp.get("/events/<slug:slug>/attendees/")
@host_required
def attendee_list(slug: str):
    event = managed_event(slug)
    return render_template("hosts/attendees.html", event=event, bookings=attendees(event.id))


@bp.get("/events/<slug:slug>/attendees.csv")
@host_required
def attendee_csv(slug: str):
    event = managed_event(slug)
    response = Response(attendees_csv(attendees(event.id)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-attendees.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
