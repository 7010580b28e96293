"""A host deleting their account while members book their event, through a real gunicorn
process on PostgreSQL: either the bookings land first and the deletion is refused, or the
deletion goes first and the bookings are refused; never a deleted host with booked events."""

from __future__ import annotations

from collections import Counter

from eventmate.models import User
from tests.conftest import PASSWORD
from tests.factories import now
from tests.live import Browser, gunicorn_server
from tests.test_booking_races import ledger, report, run_together, setup_event

MEMBERS = 10


def test_a_host_deleting_while_members_book_never_leaves_booked_events(committed, capsys, tmp_path):
    session, created = committed
    event, users = setup_event(session, created, capacity=50, booked=0, members=MEMBERS + 1)
    host = event.host
    host.password_hash, host.is_host = users[0].password_hash, True
    host.email_verified_at = now()
    session.commit()

    with gunicorn_server(str(tmp_path)) as base:
        host_browser = Browser(base)
        host_browser.log_in(host.email, PASSWORD)
        delete_form = {**host_browser.hidden_fields("/account/delete/"),
                       "current_password": PASSWORD}  # fmt: skip
        bookers = []
        for user in users[1:]:
            browser = Browser(base)
            browser.log_in(user.email, PASSWORD)
            bookers.append((browser, browser.hidden_fields(f"/events/{event.slug}/")))

        def delete():
            return host_browser.post("/account/delete/", delete_form)[0]

        def book(browser, fields):
            return lambda: browser.post(f"/events/{event.slug}/book/", {**fields, "quantity": "1"})[
                0
            ]

        results = run_together([delete, *(book(b, f) for b, f in bookers)])

    deleted, bookings = results[0], Counter(results[1:])
    report(capsys, f"host deletes, {MEMBERS} members book", Counter(deleted=deleted, **{
        str(status): count for status, count in bookings.items()}))  # fmt: skip
    session.expire_all()
    seats, confirmed, _ = ledger(session, event.id)
    assert seats == confirmed == bookings[303]
    tombstone = session.get(User, host.id)
    if deleted == 303:  # first: every booking after it found the event gone
        assert tombstone.display_name == "Former member"
        assert confirmed == 0
        assert set(bookings) == {404}
    else:  # a booking landed first: the host is told to cancel the event
        assert deleted == 409
        assert tombstone.is_active
        assert confirmed >= 1
        assert set(bookings) == {303}
