from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf.file import FileField
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from eventmate.forms import Form
from eventmate.hosts import bp
from eventmate.hosts.access import host_required, managed_event
from eventmate.hosts.images import UploadFailed, add_image, delete_image, move_image
from eventmate.media.processing import ImageRejected
from eventmate.media.storage import image_storage


class ImageForm(Form):
    image = FileField("Image (JPEG, PNG or WebP, up to 5 MB and 16 megapixels)")
    alt_text = StringField(
        "Describe the image for people who can't see it",
        validators=[DataRequired(message="Add a short description (alt text)."), Length(max=200)],
    )


@bp.route("/events/<slug:slug>/images/", methods=["GET", "POST"])
@host_required
def images(slug: str):
    event = managed_event(slug)
    form = ImageForm()
    status = 200
    if form.validate_on_submit():
        upload = form.image.data
        data = upload.read(current_app.config["MAX_CONTENT_LENGTH"] + 1) if upload else b""
        try:
            add_image(event, data, form.alt_text.data, image_storage(),
                      current_app.config["MAX_IMAGES_PER_EVENT"])  # fmt: skip
        except (ImageRejected, UploadFailed) as error:
            form.image.errors = [*form.image.errors, str(error)]
        else:
            flash("Image added.", "success")
            return redirect(url_for("hosts.images", slug=slug), code=303)
    if form.is_submitted():
        status = 400
    return render_template("hosts/images.html", event=event, form=form), status


def _image_of(event, image_id: int):
    image = next((image for image in event.images if image.id == image_id), None)
    if image is None:
        abort(404)
    return image


@bp.post("/events/<slug:slug>/images/<int:image_id>/delete/")
@host_required
def delete_image_view(slug: str, image_id: int):
    event = managed_event(slug)
    delete_image(_image_of(event, image_id), image_storage())
    flash("Image deleted.", "info")
    return redirect(url_for("hosts.images", slug=slug), code=303)


@bp.post("/events/<slug:slug>/images/<int:image_id>/move/")
@host_required
def move_image_view(slug: str, image_id: int):
    event = managed_event(slug)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    move_image(event, _image_of(event, image_id), step)
    return redirect(url_for("hosts.images", slug=slug), code=303)
