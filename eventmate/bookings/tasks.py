"""Celery tasks about bookings."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task

from eventmate.bookings.reminders import queue_reminders
from eventmate.notifications import outbox


@shared_task(name="bookings.send_reminders")
def send_reminders() -> int:
    ids = queue_reminders(datetime.now(UTC))
    outbox.dispatch(ids)
    return len(ids)
