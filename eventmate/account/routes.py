"""The account page (/account/) and its four actions. Each action's form posts to its own URL;
a refused one shows the account page again with its errors (400)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from eventmate.account import bp, deletion, services
from eventmate.account.forms import DeleteForm, EmailForm, NameForm, PasswordForm, field_error
from eventmate.auth import tokens
from eventmate.auth.emails import lasting
from eventmate.auth.routes import LINK_STATUS
from eventmate.auth.services import AccountError
from eventmate.auth.sessions import end_session, start_session
from eventmate.security import limits


def _page(status: int = 200, **forms):
    """The account page, with fresh forms except those given (a refused one, its errors)."""
    forms = {
        "name_form": NameForm(formdata=None, display_name=current_user.display_name),
        "password_form": PasswordForm(formdata=None),
        "email_form": EmailForm(formdata=None),
        **forms,
    }
    return render_template("account/index.html", **forms), status


@bp.get("/account/")
@login_required
def index():
    return _page()


@bp.post("/account/name/")
@login_required
def change_name():
    form = NameForm()
    if form.validate_on_submit():
        try:
            name = services.change_display_name(current_user, form.display_name.data)
        except AccountError as error:
            field_error(form.display_name, str(error))
        else:
            flash(f"Your name is now {name}.", "success")
            return redirect(url_for("account.index"), code=303)
    return _page(400, name_form=form)


@bp.post("/account/password/")
@login_required
@limits.password_checks
def change_password():
    form = PasswordForm(member=current_user)
    if form.validate_on_submit():
        user = _with_password(form, form.password, services.change_password, form.password.data)
        if user is not None:
            start_session(user)  # this browser stays signed in, under a new session id
            flash("Your password is changed. Any other device signed in to your account has "
                  "been signed out.", "success")  # fmt: skip
            return redirect(url_for("account.index"), code=303)
    return _page(400, password_form=form)


@bp.post("/account/email/")
@login_required
@limits.password_checks
@limits.email_change
@limits.email_change_per_account
def change_email():
    form = EmailForm()
    if form.validate_on_submit():
        address = _with_password(form, form.email, services.request_email_change, form.email.data)
        if address is not None:
            # The same page whether or not the address has an account (only its inbox knows).
            valid_for = lasting(current_app.config["EMAIL_CHANGE_SECONDS"])
            return render_template("account/email_sent.html", email=address,
                                   valid_for=valid_for)  # fmt: skip
    return _page(400, email_form=form)


def _with_password(form, field, change, value):
    """`change(member, current password, value)`'s result, or None with its refusal on the
    form: on the current password if that was wrong, else on `field`."""
    try:
        return change(current_user, form.current_password.data, value)
    except services.WrongPassword as error:
        field_error(form.current_password, str(error))
    except AccountError as error:
        field_error(field, str(error))
    return None


@bp.get("/account/email/confirm/")
def confirm_email():
    """The link emailed to the new address: moves the account to it. Nobody is signed in by
    it; a member signed in elsewhere stays signed in."""
    link = tokens.read_email_change(request.args.get("key", ""))
    problem = None
    if link.state == tokens.VALID:
        try:
            user = services.confirm_email_change(link)
        except AccountError as error:
            problem = str(error)
        else:
            if user is not None:
                flash(f"Your email address is now {user.email}.", "success")
                signed_in = current_user.is_authenticated and current_user.id == user.id
                return redirect(url_for("account.index" if signed_in else "auth.login"))
            link = tokens.Link(tokens.USED, link.user)  # followed twice at once
    status = 409 if problem else LINK_STATUS[link.state]
    return render_template("account/email_link.html", state=link.state, problem=problem), status


@bp.route("/account/delete/", methods=["GET", "POST"])
@login_required
@limits.password_checks
def delete():
    """GET says what deleting the account does (or why it can't yet); POST, with the
    password, does it."""
    now = datetime.now(UTC)
    form = DeleteForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            cancelled = deletion.delete_account(current_user, form.current_password.data, now)
        except deletion.HostStillBooked as refused:
            form.form_errors.append(str(refused))
            status = 409
        except AccountError as error:
            field_error(form.current_password, str(error))
        else:
            end_session()
            booked = f" {cancelled} upcoming booking{'s' if cancelled != 1 else ''} cancelled."
            flash("Your account is deleted." + (booked if cancelled else ""), "info")
            return redirect(url_for("main.home"), code=303)
    return render_template(
        "account/delete.html",
        form=form,
        bookings=deletion.upcoming_bookings(current_user.id, now),
        hosted=deletion.booked_hosted_events(current_user.id, now),
    ), status
