"""Queue, hand out, send and retry the outbox's messages (eventmate/notifications)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from flask import (
    Response,
    after_this_request,
    copy_current_request_context,
    current_app,
    g,
    has_request_context,
)
from kombu.exceptions import KombuError
from redis.exceptions import RedisError
from sqlalchemy import insert, select

from eventmate.extensions import db
from eventmate.models import OutboxMessage
from eventmate.models.outbox import FAILED, PENDING, SENT, SKIPPED
from eventmate.notifications.mailer import mailer_for
from eventmate.resilience import breaker_for

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
AFTER_RESPONSE = "eventmate_outbox_after_response"  # g key: ids to hand out once it is sent


def queue(kind: str, send_key: str, to_address: str, **fields) -> int:
    """Add a message to the session, to be committed with the change it is about; returns its
    id (for `dispatch` after the commit). `fields`: user_id, booking_id, event_id, details."""
    [message_id] = queue_many(kind, [{"send_key": send_key, "to_address": to_address, **fields}])
    return message_id


def queue_many(kind: str, messages: list[dict], now: datetime | None = None) -> list[int]:
    """`queue` for many messages of one kind (an event's attendees), written in one multi-row
    INSERT however many there are; returns their ids. Each of `messages` has a send_key, a
    to_address and any of the fields `queue` takes."""
    if not messages:
        return []
    now = now or datetime.now(UTC)
    retry = timedelta(seconds=current_app.config["OUTBOX_RETRY_SECONDS"])
    rows = [
        {"details": {}, **message, "kind": kind, "status": PENDING, "attempts": 0,
         "created_at": now, "next_attempt_at": now + retry, "last_error": ""}
        for message in messages
    ]  # fmt: skip
    return list(db.session.scalars(insert(OutboxMessage).returning(OutboxMessage.id), rows))


def dispatch(ids: Iterable[int]) -> bool:
    """Hand committed messages to the workers, in batches. In a request, once its response
    has been sent (Werkzeug's call_on_close): the member's answer doesn't wait for the broker
    (loadtest/RESULTS.md), and a process that dies in between leaves them to the sweep. Never
    raises: if the broker is unreachable they stay pending and the sweep hands them out later.
    True if handed out (or to be, after the response)."""
    ids = list(ids)
    if not ids:
        return True
    if has_request_context() and not current_app.extensions["celery"].conf.task_always_eager:
        later = g.get(AFTER_RESPONSE)
        if later is None:
            later = g.setdefault(AFTER_RESPONSE, [])

            @after_this_request
            def hand_out_once_sent(response: Response) -> Response:
                response.call_on_close(copy_current_request_context(lambda: hand_out(later)))
                return response

        later.extend(ids)
        return True
    return hand_out(ids)


def hand_out(ids: list[int]) -> bool:
    """`dispatch`, now."""
    from eventmate.notifications.tasks import deliver_messages

    config, celery = current_app.config, current_app.extensions["celery"]
    deliver_messages = celery.tasks[deliver_messages.name]  # this app's, not the last made
    if celery.conf.task_always_eager:
        for batch in batches(ids, config["OUTBOX_BATCH_SIZE"]):
            deliver_messages.apply(args=(batch,))
        return True
    breaker = breaker_for(celery.conf.broker_url)
    if not breaker.closed:
        return False
    try:
        for batch in batches(ids, config["OUTBOX_BATCH_SIZE"]):
            deliver_messages.apply_async(args=(batch,), retry=False)
    except (KombuError, RedisError, OSError) as error:
        breaker.trip(error)
        log.warning("could not queue %d email(s); the outbox sweep will: %s", len(ids), error)
        return False
    return True


def batches(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def deliver(ids: Iterable[int]) -> int:
    """Send each pending message and mark it sent; returns how many were sent. A message
    another worker is sending (its row locked) or has sent is passed over. On an SMTP error the
    rest of the batch is left for the sweep."""
    from eventmate.notifications.messages import compose

    sent = 0
    with mailer_for(current_app.config["MAIL_URL"]).connect() as connection:
        for message_id in ids:
            message = _claim(message_id)
            if message is None:
                continue
            try:
                email = compose(message)
                if email is None:
                    message.status = SKIPPED
                else:
                    connection.send(email)
                    message.status, message.sent_at = SENT, datetime.now(UTC)
                    sent += 1
            except Exception as error:
                _failed(message, error)
                db.session.commit()
                raise
            message.attempts += 1
            db.session.commit()
    return sent


def _claim(message_id: int) -> OutboxMessage | None:
    """The pending message, its row locked until this transaction ends (PostgreSQL: another
    worker's delivery of the same row skips it rather than wait and send it again)."""
    message = db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING)
        .with_for_update(skip_locked=True)
    )
    if message is None:
        db.session.rollback()
    return message


def _failed(message: OutboxMessage, error: Exception) -> None:
    db.session.rollback()  # whatever the composition read or half-wrote
    message = db.session.get(OutboxMessage, message.id)
    message.attempts += 1
    message.last_error = f"{type(error).__name__}: {error}"[:300]
    if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        message.status = FAILED
    retry = timedelta(seconds=current_app.config["OUTBOX_RETRY_SECONDS"])
    message.next_attempt_at = datetime.now(UTC) + min(retry * 2 ** min(message.attempts, 10),
                                                      MAX_BACKOFF)  # fmt: skip
    log.warning("email %s (%s) failed, attempt %d: %s", message.id, message.kind,
                message.attempts, message.last_error)  # fmt: skip


def sweep(limit: int = 5000) -> int:
    """Hand out again every pending message that is due (its dispatch was lost, or it failed
    and waited its turn). Returns how many."""
    now = datetime.now(UTC)
    retry = timedelta(seconds=current_app.config["OUTBOX_RETRY_SECONDS"])
    due = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    ids = [message.id for message in due]
    for message in due:  # not handed out again until this try had its chance
        message.next_attempt_at = now + retry
    db.session.commit()
    dispatch(ids)
    return len(ids)


def new_email(message: OutboxMessage, subject: str) -> EmailMessage:
    """The headers every message has. The Message-ID is derived from the send key, so a
    receiving system can tell a repeat of the same message from a new one."""
    config = current_app.config
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = config["MAIL_FROM"]
    email["To"] = message.to_address
    email["Date"] = format_datetime(datetime.now(UTC))
    domain = config["SITE_URL"].split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    email["Message-ID"] = f"<{message.send_key.replace(':', '.')}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"
    email["X-EventMate-Kind"] = message.kind
    email["X-EventMate-Send-Key"] = message.send_key
    return email
