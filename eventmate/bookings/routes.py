"""Booking seats, the confirmation page, "My bookings" and cancelling."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from eventmate.auth.verification import require_verified
from eventmate.bookings import bp, queries
from eventmate.bookings.forms import BookingForm, CancelForm
from eventmate.bookings.reminders import set_reminders, user_from_token
from eventmate.bookings.services import (
    BookingRefused,
    book_seats,
    cancel_booking,
    parse_quantity,
)
from eventmate.calendars.feeds import feed_key
from eventmate.extensions import csrf
from eventmate.pagination import page_number
from eventmate.security import limits


@bp.post("/events/<slug:slug>/book/")
@limits.booking
def book(slug: str):
    event = queries.event_to_book(slug)
    if event is None:
        abort(404)
    if not current_user.is_authenticated:
        # Back to the event page after logging in: a login can't replay this POST.
        flash("Log in or create an account to book.", "info")
        return redirect(url_for("auth.login", next=url_for("events.detail", slug=slug)))
    require_verified()
    form = BookingForm()
    try:
        if not form.validate_on_submit() or not form.request_token.data:
            raise BookingRefused("That form has expired. Please choose your seats again.", 400)
        quantity = parse_quantity(form.quantity.data, event)
        result = book_seats(current_user, event, quantity, form.request_token.data)
    except BookingRefused as refused:
        page = render_template("bookings/refused.html", event=event, message=refused.message)
        return page, refused.status
    if result.created:
        flash("You're booked! Your seats are confirmed.", "success")
    return redirect(url_for("bookings.detail", reference=result.reference), code=303)


@bp.get("/bookings/<ref:reference>/")
@login_required
def detail(reference: str):
    booking = _own_booking(reference)
    return render_template("bookings/detail.html", booking=booking, now=datetime.now(UTC))


@bp.route("/bookings/<ref:reference>/cancel/", methods=["GET", "POST"])
@login_required
def cancel(reference: str):
    """GET asks which seats to cancel (the whole booking by default); POST cancels them."""
    booking = _own_booking(reference)
    if booking.status != "confirmed":
        flash("This booking is already cancelled.", "error")
        return redirect(url_for("bookings.detail", reference=reference), code=303)
    if booking.event.starts_at <= datetime.now(UTC):
        flash("This event has started, so the booking can no longer be cancelled.", "error")
        return redirect(url_for("bookings.detail", reference=reference), code=303)
    quantity = booking.quantity
    form = CancelForm.for_booking(quantity)
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("bookings/cancel.html", booking=booking, form=form), status
    seats = form.seats.data or quantity
    try:
        cancel_booking(booking, seats, form.seen.data)
    except BookingRefused as refused:
        if refused.status == 400:  # a number of seats the booking doesn't have
            form.seats.errors = [refused.message]
            return render_template("bookings/cancel.html", booking=booking, form=form), 400
        flash(refused.message, "error")
        return redirect(url_for("bookings.detail", reference=reference), code=303)
    if seats < quantity:
        left = quantity - seats
        flash(f"{seats} seat{'s' if seats != 1 else ''} of booking {reference} cancelled and "
              f"released; {left} still booked.", "info")  # fmt: skip
        return redirect(url_for("bookings.detail", reference=reference), code=303)
    flash(f"Booking {reference} is cancelled and its seats are released.", "info")
    return redirect(url_for("bookings.mine"), code=303)


@bp.get("/me/bookings/")
@login_required
def mine():
    now = datetime.now(UTC)
    requested = {  # each list's page (written out: tests/test_fuzz.py fuzzes what views read)
        "upcoming": page_number(request.args.get("upcoming")),
        "cancelled": page_number(request.args.get("cancelled")),
        "past": page_number(request.args.get("past")),
    }
    lists = queries.bookings_for_user(
        current_user.id, now, requested, current_app.config["BOOKINGS_PER_PAGE"]
    )

    def page_url(name: str, number: int) -> str:
        """This page with one list moved to another page (the other lists' pages kept)."""
        numbers = {other: shown.page for other, shown in lists.items()} | {name: number}
        return url_for("bookings.mine", **{other: n for other, n in numbers.items() if n > 1})

    feed_url = url_for(
        "calendars.bookings_ics",
        key=feed_key(current_user, current_app.config["SECRET_KEY"]),
        _external=True,
    )
    attended = [b.event_id for b in lists["past"].bookings if b.status == "confirmed"]
    return render_template(
        "bookings/mine.html",
        lists=lists,
        own_ratings=queries.own_ratings(current_user.id, attended),
        list_urls={name: partial(page_url, name) for name in lists},  # for each list's pager
        now=now,
        feed_url=feed_url,
    )


def _own_booking(reference: str):
    """The current member's booking; anyone else's reference is a 404."""
    booking = queries.booking_for_user(reference, current_user.id)
    if booking is None:
        abort(404)
    return booking


@bp.route("/reminders/off/<token>/", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the credential; mail apps POST here (RFC 8058 one-click)
def reminders_off(token: str):
    """The link in every reminder (and its List-Unsubscribe header): GET asks, POST turns
    reminders off, for the member the token was made for, signed in or not."""
    user = user_from_token(token)
    if user is None:
        abort(404)
    if request.method == "POST":
        set_reminders(user, request.form.get("enable") == "1")
    return render_template("bookings/reminders.html", member=user, token=token)
