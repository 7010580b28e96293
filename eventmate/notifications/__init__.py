"""Email, through a transactional outbox and Celery.

A service that has something to tell a member writes an `OutboxMessage` row in the same
transaction as the change (`outbox.queue`), and after its commit hands the row to a worker
(`outbox.dispatch`). The worker renders the message from the rows as they are then, sends it,
and marks the row sent in one transaction that holds the row's lock (`outbox.deliver`), so two
workers never send one row. If Redis was down at dispatch or a worker died mid-send, the row is
still pending: beat's sweep hands it out again (`outbox.sweep`, OUTBOX_RETRY_SECONDS).
"""
