"""Concurrent bookings through a real gunicorn process on PostgreSQL: never oversell.

These tests commit real rows (the server can't see a test's open transaction) and delete them
afterwards.
"""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from eventmate.models import Booking, Event
from tests.conftest import PASSWORD
from tests.factories import unsaved_event_with_members
from tests.live import Browser, gunicorn_server

CLIENTS = 50


def setup_event(session, created, capacity: int, booked: int, members: int):
    event, users = unsaved_event_with_members(members, PASSWORD, capacity=capacity,
                                              seats_booked=booked)  # fmt: skip
    rows = [event.city, event.host, event, *users]
    session.add_all(rows)
    session.commit()
    created.extend(rows)
    return event, users


def run_together(actions) -> list:
    """Run each action in its own thread, released at the same moment by a barrier."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index, action):
        barrier.wait()
        try:
            results[index] = action()
        except Exception as error:  # a dropped connection is a result too
            results[index] = ("error", repr(error))

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def ledger(session, event_id: int) -> tuple[int, int, int]:
    """(seats_booked, sum of confirmed quantities, capacity) straight from the database."""
    session.expire_all()
    event = session.get(Event, event_id)
    confirmed = session.scalar(
        select(func.coalesce(func.sum(Booking.quantity), 0)).where(
            Booking.event_id == event_id, Booking.status == "confirmed"
        )
    )
    return event.seats_booked, confirmed, event.capacity


def report(capsys, title: str, counts: Counter) -> None:
    with capsys.disabled():
        print(f"\n[race] {title}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def test_fifty_clients_racing_for_ten_seats_confirm_exactly_ten(committed, capsys, tmp_path):
    session, created = committed
    event, users = setup_event(session, created, capacity=10, booked=0, members=CLIENTS)
    with gunicorn_server(str(tmp_path)) as base:
        browsers = []
        for user in users:
            browser = Browser(base)
            browser.log_in(user.email, PASSWORD)
            fields = browser.hidden_fields(f"/events/{event.slug}/")
            browsers.append((browser, fields))

        def booking_attempt(browser, fields):
            def attempt():
                form = {**fields, "quantity": "1"}
                status, _, page = browser.post(f"/events/{event.slug}/book/", form)
                return status, page

            return attempt

        results = run_together([booking_attempt(b, f) for b, f in browsers])

    statuses = Counter(r[0] for r in results)
    counts = Counter(
        requests=len(results),
        confirmed=statuses[303],
        rejected=statuses[409],
        errors=len(results) - statuses[303] - statuses[409],
    )
    report(capsys, "50 clients, 10 seats left", counts)
    assert counts["confirmed"] == 10
    assert counts["rejected"] == 40
    assert counts["errors"] == 0
    assert all("sold out" in page for status, page in results if status == 409)
    seats, confirmed, capacity = ledger(session, event.id)
    assert seats == confirmed == capacity == 10


def test_cancel_racing_bookings_keeps_the_ledger_exact(committed, capsys, tmp_path):
    session, created = committed
    event, users = setup_event(session, created, capacity=2, booked=0, members=21)
    holder, racers = users[0], users[1:]

    with gunicorn_server(str(tmp_path)) as base:
        # The racers opened the event page while seats were left...
        racer_browsers = []
        for user in racers:
            browser = Browser(base)
            browser.log_in(user.email, PASSWORD)
            racer_browsers.append((browser, browser.hidden_fields(f"/events/{event.slug}/")))
        # ...then the holder took the last two seats, and now cancels as they all click Book.
        booking = Booking(user=holder, event=event, quantity=2, reference=f"RACE{event.id:05d}")
        event.seats_booked = 2
        session.add(booking)
        session.commit()
        created.append(booking)
        holder_browser = Browser(base)
        holder_browser.log_in(holder.email, PASSWORD)
        cancel_fields = holder_browser.hidden_fields(f"/bookings/{booking.reference}/cancel/")

        def cancel():
            status, headers, _ = holder_browser.post(
                f"/bookings/{booking.reference}/cancel/",
                {"csrf_token": cancel_fields["csrf_token"]},
            )
            return status, headers.get("Location", "")

        def book_one(browser, fields):
            return lambda: browser.post(f"/events/{event.slug}/book/", {**fields, "quantity": "1"})

        results = run_together([cancel] + [book_one(b, f) for b, f in racer_browsers])
        _, _, holders_bookings = holder_browser.get("/me/bookings/")

    statuses = Counter(result[0] for result in results[1:])
    counts = Counter(
        requests=len(results),
        cancel_status=results[0][0],
        confirmed=statuses[303],
        rejected=statuses[409],
        errors=len(results) - 1 - statuses[303] - statuses[409],
    )
    report(capsys, "cancel of the last 2 seats racing 20 single-seat bookings", counts)
    assert results[0] == (303, "/me/bookings/")  # cancelled (a refusal goes back to the booking)
    assert f"{booking.reference} is cancelled" in holders_bookings
    session.expire_all()
    assert session.get(Booking, booking.id).status == "cancelled"
    assert counts["errors"] == 0
    assert counts["confirmed"] <= 2
    seats, confirmed, capacity = ledger(session, event.id)
    assert seats == confirmed == counts["confirmed"]
    assert seats <= capacity
