from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from eventmate.auth import bp, recovery, tokens
from eventmate.auth.emails import lasting
from eventmate.auth.forms import (
    ForgotPasswordForm,
    LoginForm,
    LogoutForm,
    RegisterForm,
    ResendVerificationForm,
    ResetPasswordForm,
)
from eventmate.auth.services import AccountError, authenticate, register_account
from eventmate.auth.sessions import end_session, safe_next_url, start_session
from eventmate.auth.verification import confirm_email, send_verification
from eventmate.errors import render_error
from eventmate.resilience import session_store_available
from eventmate.security import limits

# Which status a link's page answers with, by the link's state (eventmate/auth/tokens.py).
LINK_STATUS = {tokens.EXPIRED: 400, tokens.USED: 400, tokens.INVALID: 404}


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
            email = register_account(
                form.email.data,
                form.password.data,
                form.display_name.data,
                safe_next_url(form.next.data),
            )
        except AccountError as error:
            _attach_error(form, str(error))
        else:
            # The same page whether or not the address had an account: nobody is signed in
            # yet, and only the inbox's owner learns which it was.
            return render_template("auth/check_inbox.html", email=email)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/register.html", form=form), status


@bp.get("/account/confirm/")
def verify_email():
    """The link in the confirmation email: confirms the address and signs the member in."""
    link = tokens.read_verification(request.args.get("key", ""))
    if link.state == tokens.VALID and not session_store_available():
        return render_error(503, SIGN_IN_UNAVAILABLE)  # the link stays unused for later
    user = confirm_email(link) if link.state == tokens.VALID else None
    if user is None:
        if link.state == tokens.VALID:  # followed twice at once: the other one confirmed it
            link = tokens.Link(tokens.USED, link.user)
        return _link_page("verify", link)
    start_session(user)
    flash(f"Thanks, {user.display_name}: your email address is confirmed.", "success")
    return redirect(safe_next_url(request.args.get("next")) or url_for("main.home"))


@bp.post("/account/confirm/again/")
@login_required
@limits.verify_resend
@limits.verify_resend_per_account
def resend_verification():
    form = ResendVerificationForm()
    if form.validate_on_submit():
        if current_user.is_verified:
            flash("Your email address is already confirmed.", "info")
        else:
            send_verification(current_user, safe_next_url(form.next.data))
            flash(f"We've sent a new link to {current_user.email}.", "info")
    return redirect(safe_next_url(form.next.data) or url_for("main.home"), code=303)


@bp.route("/password/forgot/", methods=["GET", "POST"])
@limits.password_reset
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # Past the address's budget nothing more is sent, and the answer is still the same.
        if limits.spend_reset_email(form.email.data):
            recovery.send_reset_link(form.email.data)
        valid_for = lasting(current_app.config["PASSWORD_RESET_SECONDS"])
        return render_template("auth/reset_sent.html", email=form.email.data.strip(),
                               valid_for=valid_for)  # fmt: skip
    status = 400 if form.is_submitted() else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/password/reset/", methods=["GET", "POST"])
def reset_password():
    """The link in the reset email: a form for the new password, the token in a hidden field
    (so the POST's URL carries no secret)."""
    form = ResetPasswordForm(key=request.args.get("key", ""))
    link = tokens.read_reset(form.key.data)
    if link.state != tokens.VALID:
        return _link_page("reset", link)
    if not session_store_available():
        return _sign_in_unavailable("auth/reset.html", form)
    if form.validate_on_submit():
        try:
            user = recovery.set_new_password(link, form.password.data)
        except AccountError as error:
            form.password.errors = [*form.password.errors, str(error)]
        else:
            if user is None:
                return _link_page("reset", tokens.Link(tokens.USED, link.user))
            start_session(user)
            flash("Your password is changed, and you're signed in. Any other device signed "
                  "in to your account has been signed out.", "success")  # fmt: skip
            return redirect(url_for("main.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset.html", form=form, member=link.user), status


def _link_page(kind: str, link: tokens.Link):
    """The page for a link that can't be used (expired, used, invalid), saying what to do. A
    confirmation link followed again is no error: the address was confirmed with it."""
    confirmed = kind == "verify" and link.state == tokens.USED
    status = 200 if confirmed else LINK_STATUS[link.state]
    return render_template("auth/link.html", kind=kind, state=link.state), status


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


SIGN_IN_UNAVAILABLE = (
    "Sign-in is temporarily unavailable. Browsing and search still work; "
    "please try again in a few minutes."
)


def _sign_in_unavailable(template: str, form):
    """Without the session store nobody can stay signed in: say so rather than pretend."""
    form.form_errors.append(SIGN_IN_UNAVAILABLE)
    return render_template(template, form=form), 503


def _attach_error(form: RegisterForm, message: str) -> None:
    """Put a service error on the field it is about."""
    lowered = message.lower()
    field = form.email if "email" in lowered and "password" not in lowered else form.password
    field.errors = [*field.errors, message]
