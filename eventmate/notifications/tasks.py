"""Celery tasks of the outbox."""

from __future__ import annotations

from celery import shared_task

from eventmate.notifications import outbox


@shared_task(name="notifications.deliver")
def deliver_messages(ids: list[int]) -> int:
    return outbox.deliver(ids)


@shared_task(name="notifications.sweep")
def sweep_outbox() -> int:
    return outbox.sweep()
