"""/host/become/: a member becomes a host by accepting the host terms."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired

from eventmate.auth.verification import require_verified
from eventmate.extensions import db
from eventmate.hosts import bp
from eventmate.hosts.onboarding import HostingRefused, become_host
from eventmate.models import User


class BecomeHostForm(FlaskForm):
    accept = BooleanField(
        "I accept the host terms",
        validators=[DataRequired("Accept the host terms to start hosting.")],
    )


@bp.route("/become/", methods=["GET", "POST"])
@login_required
def become():
    if current_user.is_host or current_user.is_admin:
        return redirect(url_for("hosts.dashboard"))
    member = db.session.get(User, current_user.id)  # (the signed-in snapshot lacks the flag)
    form = BecomeHostForm()
    suspended = member.hosting_suspended_at is not None
    if not suspended and form.validate_on_submit():
        require_verified()
        try:
            become_host(member, datetime.now(UTC))
        except HostingRefused:
            suspended = True
        else:
            flash("You're a host now: list your first event.", "success")
            return redirect(url_for("hosts.new_event"), code=303)
    status = 403 if suspended and form.is_submitted() else 400 if form.is_submitted() else 200
    page = render_template("hosts/become.html", form=form, suspended=suspended)
    return page, status
