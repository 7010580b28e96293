from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from eventmate.auth import bp
from eventmate.auth.forms import LoginForm, LogoutForm, RegisterForm
from eventmate.auth.services import AccountError, authenticate, create_user
from eventmate.auth.sessions import end_session, safe_next_url, start_session
from eventmate.errors import render_error
from eventmate.resilience import session_store_available
from eventmate.security import limits


@bp.route("/register/", methods=["GET", "POST"])
@limits.registration
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm(next=request.args.get("next", ""))
    if not session_store_available():  # as at login: say so before the form is filled in
        return _sign_in_unavailable("auth/register.html", form)
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data, form.display_name.data)
        except AccountError as error:
            _attach_error(form, str(error))
        else:
            start_session(user)
            flash(f"Welcome to EventMate, {user.display_name}!", "success")
            return redirect(safe_next_url(form.next.data) or url_for("main.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login/", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next_url(request.args.get("next")) or url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if not session_store_available():
        return _sign_in_unavailable("auth/login.html", form)
    if form.validate_on_submit():
        wait = limits.admit_login_attempt(form.email.data)
        if wait is not None:
            body, status = render_error(429)
            return body, status, {"Retry-After": str(wait)}
        limits.slow_down_if_targeted(form.email.data)
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            limits.login_succeeded(form.email.data)
            start_session(user)
            flash(f"Welcome back, {user.display_name}.", "success")
            return redirect(safe_next_url(form.next.data) or url_for("main.home"))
        limits.count_failed_login(form.email.data)
        form.form_errors.append("That email and password don't match an account.")
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout/")
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        end_session()
        flash("You're logged out.", "info")
    return redirect(url_for("main.home"))


def _sign_in_unavailable(template: str, form):
    """Without the session store nobody can stay signed in: say so rather than pretend."""
    form.form_errors.append(
        "Sign-in is temporarily unavailable. Browsing and search still work; "
        "please try again in a few minutes."
    )
    return render_template(template, form=form), 503


def _attach_error(form: RegisterForm, message: str) -> None:
    """Put a service error on the field it is about."""
    lowered = message.lower()
    field = form.email if "email" in lowered and "password" not in lowered else form.password
    if "account for" in lowered:
        field = form.email
    field.errors = [*field.errors, message]
