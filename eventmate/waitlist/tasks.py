"""Celery tasks of the waitlist."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task

from eventmate.waitlist.services import expire_holds


@shared_task(name="waitlist.expire_holds")
def expire_waitlist_holds() -> int:
    return expire_holds(datetime.now(UTC))
