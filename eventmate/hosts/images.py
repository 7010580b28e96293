"""Adding, removing and reordering an event's images. Each write owns its commit."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.hosts.services import event_changed
from eventmate.media.processing import ImageRejected, clean_image
from eventmate.media.storage import ImageStorage
from eventmate.models import Event, EventImage

log = logging.getLogger(__name__)


class UploadFailed(RuntimeError):
    """The storage backend did not take the file; nothing was saved."""


def add_image(
    event: Event, data: bytes, alt_text: str, storage: ImageStorage, limit: int, cleaned=None
):
    """Verify, re-encode, store and record one image, or raise ImageRejected / UploadFailed.
    `cleaned`: the upload as clean_image already made it (it is decoded once).

    Stored first, recorded second: a failed upload leaves no row, and a failed commit removes
    the stored file again."""
    count = db.session.scalar(
        select(func.count()).select_from(EventImage).where(EventImage.event_id == event.id)
    )
    if count >= limit:
        raise ImageRejected(f"An event can have at most {limit} images. Delete one first.")
    image = cleaned or clean_image(data)
    try:
        stored = storage.save(image)
    except Exception as error:
        log.warning("image upload failed", exc_info=True)
        raise UploadFailed("We couldn't store that image just now. Please try again.") from error
    position = db.session.scalar(
        select(func.coalesce(func.max(EventImage.position), -1) + 1).where(
            EventImage.event_id == event.id
        )
    )
    row = EventImage(
        event_id=event.id,
        url=stored.url,
        storage_id=stored.storage_id,
        position=position,
        alt_text=alt_text.strip(),
    )
    db.session.add(row)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        storage.delete(stored.storage_id)
        raise
    event_changed(event)
    return row


def delete_image(image: EventImage, storage: ImageStorage) -> None:
    event = image.event
    storage_id = image.storage_id
    shared = db.session.scalar(
        select(func.count())
        .select_from(EventImage)
        .where(EventImage.storage_id == storage_id, EventImage.id != image.id)
    )
    db.session.delete(image)
    db.session.commit()
    event_changed(event)
    if storage_id and not shared:  # files are content-addressed and may be shared
        storage.delete(storage_id)


def move_image(event: Event, image: EventImage, step: int) -> None:
    """Swap the image with its neighbour before (step -1) or after (step +1)."""
    ordered = sorted(event.images, key=lambda i: (i.position, i.id))
    index = ordered.index(image)
    target = index + step
    if 0 <= target < len(ordered):
        ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, each in enumerate(ordered):
        each.position = position
    db.session.commit()
    event_changed(event)
