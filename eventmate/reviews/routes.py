from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from eventmate.auth.verification import require_verified
from eventmate.events import queries as event_queries
from eventmate.reviews import bp
from eventmate.reviews.forms import DeleteReviewForm, ReviewForm
from eventmate.reviews.services import delete_review, review_standing, save_review


def _event_and_standing(slug: str):
    event = event_queries.active_event_by_slug(slug)
    if event is None:
        abort(404)
    standing = review_standing(current_user, event)
    if not standing.may_review:
        abort(403)
    return event, standing


@bp.post("/events/<slug:slug>/review/")
@login_required
def save(slug: str):
    require_verified()
    event, standing = _event_and_standing(slug)
    form = ReviewForm()
    if not form.validate_on_submit():
        page = render_template(
            "reviews/form_errors.html",
            event=event,
            form=form,
            own_review=standing.own_review,
            delete_review_form=DeleteReviewForm(),
        )
        return page, 400
    save_review(current_user, event, int(form.rating.data), form.body.data or "")
    flash("Thanks — your review is saved." if standing.own_review is None else "Review updated.",
          "success")  # fmt: skip
    return redirect(url_for("events.detail", slug=slug) + "#reviews-heading", code=303)


@bp.post("/events/<slug:slug>/review/delete/")
@login_required
def delete(slug: str):
    event, standing = _event_and_standing(slug)
    if DeleteReviewForm().validate_on_submit() and standing.own_review is not None:
        delete_review(standing.own_review)
        flash("Your review is deleted.", "info")
    return redirect(url_for("events.detail", slug=event.slug), code=303)
