"""Joining and leaving an event's waitlist; the page to claim seats held for the member."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required

from eventmate.auth.verification import require_verified
from eventmate.bookings.queries import event_to_book
from eventmate.bookings.services import BookingRefused, parse_quantity
from eventmate.security import limits
from eventmate.waitlist import bp, queries, services
from eventmate.waitlist.forms import JoinWaitlistForm, WaitlistActionForm


@bp.post("/events/<slug:slug>/waitlist/")
@limits.booking
def join(slug: str):
    event = _event(slug)
    if not current_user.is_authenticated:
        # Back to the event page after logging in: a login can't replay this POST.
        flash("Log in or create an account to join the waitlist.", "info")
        return redirect(url_for("auth.login", next=url_for("events.detail", slug=slug)))
    require_verified()
    form = JoinWaitlistForm()
    try:
        if not form.validate_on_submit():
            raise services.WaitlistRefused("That form has expired. Please try again.", 400)
        quantity = parse_quantity(form.quantity.data, event)
        position = services.join(current_user, event, quantity, datetime.now(UTC))
    except BookingRefused as refused:
        return _refused(event, refused)
    seats = ngettext("%(num)d seat", "%(num)d seats", quantity)
    flash(f"You're on the waitlist for {seats}: number {position} in line. We'll "
          "email you when seats are held for you.", "success")  # fmt: skip
    return redirect(url_for("events.detail", slug=slug), code=303)


@bp.post("/events/<slug:slug>/waitlist/leave/")
@login_required
def leave(slug: str):
    return _give_up_place(slug, services.leave, "You've left the waitlist.")


@bp.post("/events/<slug:slug>/waitlist/decline/")
@login_required
def decline(slug: str):
    return _give_up_place(slug, services.decline,
                          "You declined the seats; they go to the next in line.")  # fmt: skip


@bp.route("/events/<slug:slug>/waitlist/claim/", methods=["GET", "POST"])
@login_required
@limits.booking
def claim(slug: str):
    """The offer email's link: the seats held for the member, and one button to book them."""
    event = _event(slug)
    now = datetime.now(UTC)
    form = WaitlistActionForm()
    if form.validate_on_submit():
        try:
            reference = services.claim(current_user, event, now)
        except BookingRefused as refused:
            return _refused(event, refused)
        flash("You're booked! Your seats are confirmed.", "success")
        return redirect(url_for("bookings.detail", reference=reference), code=303)
    entry = services.latest_entry(current_user.id, event.id)
    if entry is not None and entry.booking_id is not None:  # claimed (a second click)
        reference = queries.booking_reference(entry.booking_id)
        return redirect(url_for("bookings.detail", reference=reference), code=303)
    refusal = services.offer_refusal(entry, event, now)
    if refusal is not None:
        return _refused(event, refusal)
    return render_template("waitlist/claim.html", event=event, entry=entry, form=form)


def _give_up_place(slug: str, give_up, done: str):
    """Leave the line or decline held seats (`give_up`, a service taking the member, the event
    and now), then back to the event page."""
    event = _event(slug)
    if WaitlistActionForm().validate_on_submit():
        try:
            give_up(current_user, event, datetime.now(UTC))
        except BookingRefused as refused:
            return _refused(event, refused)
        flash(done, "info")
    return redirect(url_for("events.detail", slug=slug), code=303)


def _event(slug: str):
    event = event_to_book(slug)
    if event is None:
        abort(404)
    return event


def _refused(event, refused: BookingRefused):
    if refused.status == 404:
        abort(404)  # nothing of this member's to show: another member's offer is a 404 too
    page = render_template("waitlist/refused.html", event=event, message=refused.message)
    return page, refused.status
