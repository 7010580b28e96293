"""The waitlist under concurrency, through a real gunicorn process on PostgreSQL: cancellations,
claims, declines, expiries, bookings and joins for one event, all at once, keep the ledger
exact (seats_booked = confirmed seats, seats_held = offered seats, together within capacity).

These tests commit real rows (the server can't see a test's open transaction) and delete them
afterwards.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from eventmate.models import Booking, Event, OutboxMessage, User, WaitlistEntry
from eventmate.waitlist.services import expire_holds
from tests.conftest import PASSWORD
from tests.factories import unsaved_event_with_members
from tests.live import Browser, gunicorn_server
from tests.test_booking_races import report, run_together


class Race:
    """An event with `capacity` seats, `holders` members with 2-seat bookings, and members who
    have nothing yet; all verified, with the same password."""

    def __init__(self, session, created, capacity: int, holders: int, others: int) -> None:
        self.event, members = unsaved_event_with_members(
            holders + others, PASSWORD, capacity=capacity, seats_booked=2 * holders,
            max_per_booking=3,
        )  # fmt: skip
        self.session = session
        tag = uuid.uuid4().hex[:5].upper()  # the set-up's booking references
        self.bookings = [
            Booking(user=user, event=self.event, quantity=2, status="confirmed",
                    reference=f"R{tag}{n:03d}")
            for n, user in enumerate(members[:holders])
        ]  # fmt: skip
        self.others = members[holders:]
        rows = [self.event.city, self.event.host, self.event, *members]
        session.add_all([*rows, *self.bookings])
        session.commit()
        created.extend(rows)
        self.line_start = datetime.now(UTC) - timedelta(hours=1)
        self.line: list[WaitlistEntry] = []
        self.offered_before: set[int] = set()  # offers made by the set-up, with no email

    def take(self, count: int) -> list[User]:
        taken, self.others = self.others[:count], self.others[count:]
        return taken

    def enqueue(self, users, quantities, status="waiting", hold: timedelta | None = None):
        """Entries for `users` at the back of the line (offered ones hold their seats)."""
        now = datetime.now(UTC)
        for user, quantity in zip(users, quantities, strict=True):
            entry = WaitlistEntry(
                event=self.event, user=user, quantity=quantity, status=status,
                created_at=self.line_start + timedelta(seconds=len(self.line)),
            )  # fmt: skip
            if status == "offered":
                entry.offered_at, entry.hold_expires_at = now, now + hold
                self.event.seats_held += quantity
            self.line.append(entry)
            self.session.add(entry)
        self.session.commit()
        if status == "offered":
            self.offered_before |= {entry.id for entry in self.line if entry.status == status}

    def check(self) -> dict:
        """The invariants after a race; returns the entries' statuses counted."""
        session = self.session
        session.expire_all()
        event = session.get(Event, self.event.id)
        confirmed = session.scalar(
            select(func.coalesce(func.sum(Booking.quantity), 0)).where(
                Booking.event_id == event.id, Booking.status == "confirmed"
            )
        )
        entries = session.scalars(
            select(WaitlistEntry).where(WaitlistEntry.event_id == event.id)
        ).all()
        held = sum(entry.quantity for entry in entries if entry.status == "offered")
        assert event.seats_booked == confirmed
        assert event.seats_held == held
        assert confirmed + held <= event.capacity
        # No member is in the line twice.
        in_line = Counter(e.user_id for e in entries if e.status in ("waiting", "offered"))
        assert all(count == 1 for count in in_line.values())
        # The rule: nobody left waiting would fit in the seats that are free.
        free = event.capacity - confirmed - held
        assert all(e.quantity > free for e in entries if e.status == "waiting"), free
        # Every offer made in the race has its email (its outbox row committed with it).
        offered = {e.id for e in entries if e.offered_at is not None} - self.offered_before
        keys = session.scalars(
            select(OutboxMessage.send_key).where(
                OutboxMessage.event_id == event.id, OutboxMessage.kind == "waitlist_offer"
            )
        ).all()
        assert sorted(int(key.rpartition(":")[2]) for key in keys) == sorted(offered)
        return {"free": free, "held": held, "booked": confirmed,
                **Counter(entry.status for entry in entries)}  # fmt: skip


def signed_in(base: str, user: User) -> Browser:
    browser = Browser(base)
    browser.log_in(user.email, PASSWORD)
    return browser


def csrf(browser: Browser, path: str) -> str:
    """The session's CSRF token from any form on `path` (WTForms' or a plain input)."""
    _, _, page = browser.get(path)
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)


def test_cancellations_racing_bookings_and_joins_hold_freed_seats_for_the_line(
    committed, capsys, tmp_path
):
    session, created = committed
    race = Race(session, created, capacity=20, holders=10, others=42)
    race.enqueue(race.take(12), [1, 2, 3] * 4)
    bookers, joiners = race.take(20), race.take(10)
    slug = race.event.slug

    with gunicorn_server(str(tmp_path)) as base:
        actions = []
        for booking in race.bookings[:8]:
            browser = signed_in(base, booking.user)
            token = csrf(browser, f"/bookings/{booking.reference}/")
            url = f"/bookings/{booking.reference}/cancel/"
            actions.append(("cancel", browser, url, {"csrf_token": token}))
        for user in bookers:  # each with a booking form opened before the event sold out
            browser = signed_in(base, user)
            form = {"csrf_token": csrf(browser, f"/events/{slug}/"),
                    "request_token": secrets.token_urlsafe(24), "quantity": "1"}  # fmt: skip
            actions.append(("book", browser, f"/events/{slug}/book/", form))
        for n, user in enumerate(joiners):
            browser = signed_in(base, user)
            form = {"csrf_token": csrf(browser, f"/events/{slug}/"), "quantity": str(1 + n % 2)}
            actions.append(("join", browser, f"/events/{slug}/waitlist/", form))

        results = run_together([lambda b=b, u=u, f=f: b.post(u, f)[0] for _, b, u, f in actions])

    kinds = [kind for kind, *_ in actions]
    outcomes = Counter(f"{kind}:{status}" for kind, status in zip(kinds, results, strict=True))
    state = race.check()
    report(capsys, "8 cancels (16 seats) vs 20 bookings and 10 joins, 12 in line",
           outcomes + Counter(state))  # fmt: skip
    assert outcomes["cancel:303"] == 8
    assert outcomes["book:303"] + outcomes["book:409"] == 20
    assert outcomes["join:303"] + outcomes["join:409"] == 10
    assert state["booked"] == 4 + outcomes["book:303"]


def test_claims_declines_and_expiries_racing_bookings_cancels_and_joins_keep_the_ledger(
    app, committed, capsys, tmp_path
):
    session, created = committed
    race = Race(session, created, capacity=33, holders=10, others=42)
    claimers, decliners, late = race.take(7), race.take(3), race.take(3)
    race.enqueue(late, [1, 1, 1], "offered", hold=timedelta(minutes=-1))  # ran out
    race.enqueue(claimers + decliners, [1] * 10, "offered", hold=timedelta(minutes=30))
    race.enqueue(race.take(6), [1] * 6)
    bookers, joiners = race.take(10), race.take(6)
    slug = race.event.slug
    claim_url = f"/events/{slug}/waitlist/claim/"

    def sweep():
        with app.app_context():
            return ("sweep", expire_holds(datetime.now(UTC)))

    with gunicorn_server(str(tmp_path)) as base:
        actions = []
        for n, user in enumerate(claimers + late):
            browser = signed_in(base, user)
            # The claim page was opened before the holds ran out.
            form = {"csrf_token": csrf(browser, f"/events/{slug}/")}
            kind = "late" if user in late else "claim"
            for _ in range(2 if n < 2 else 1):  # two members click twice
                actions.append((kind, browser, claim_url, form))
        for user in decliners:
            browser = signed_in(base, user)
            form = {"csrf_token": csrf(browser, f"/events/{slug}/")}
            actions.append(("decline", browser, f"/events/{slug}/waitlist/decline/", form))
        for booking in race.bookings[:4]:
            browser = signed_in(base, booking.user)
            token = csrf(browser, f"/bookings/{booking.reference}/")
            url = f"/bookings/{booking.reference}/cancel/"
            actions.append(("cancel", browser, url, {"csrf_token": token}))
        for user in bookers:
            browser = signed_in(base, user)
            form = {"csrf_token": csrf(browser, f"/events/{slug}/"),
                    "request_token": secrets.token_urlsafe(24), "quantity": "1"}  # fmt: skip
            actions.append(("book", browser, f"/events/{slug}/book/", form))
        for user in joiners:
            browser = signed_in(base, user)
            form = {"csrf_token": csrf(browser, f"/events/{slug}/"), "quantity": "1"}
            actions.append(("join", browser, f"/events/{slug}/waitlist/", form))

        def post(browser, url, form):
            status, headers, _ = browser.post(url, form)
            return status, headers.get("Location", "")

        results = run_together(
            [lambda b=b, u=u, f=f: post(b, u, f) for _, b, u, f in actions] + [sweep, sweep]
        )

    answers, sweeps = results[: len(actions)], results[len(actions) :]
    kinds = [kind for kind, *_ in actions]
    outcomes = Counter(f"{kind}:{r[0]}" for kind, r in zip(kinds, answers, strict=True))
    state = race.check()
    report(capsys, "9 claims (2 doubled), 3 late claims, 3 declines, 4 cancels, 10 bookings, "
           "6 joins and 2 sweeps; 6 waiting", outcomes + Counter(state))  # fmt: skip
    assert all(result[0] == "sweep" for result in sweeps), sweeps
    assert outcomes["claim:303"] == 9  # every click of a held offer lands on its booking
    assert outcomes["late:409"] == 3
    assert outcomes["decline:303"] == 3
    assert outcomes["cancel:303"] == 4
    assert outcomes["book:303"] + outcomes["book:409"] == 10
    assert outcomes["join:303"] + outcomes["join:409"] == 6
    # The double clicks found the same booking; each claimer has exactly one.
    locations = [r[1] for kind, r in zip(kinds, answers, strict=True) if kind == "claim"]
    assert locations[0] == locations[1]
    assert locations[2] == locations[3]
    assert len(set(locations)) == 7
    claimed = session.execute(
        select(WaitlistEntry.user_id, Booking.user_id, Booking.quantity, Booking.status)
        .join(Booking, Booking.id == WaitlistEntry.booking_id)
        .where(WaitlistEntry.event_id == race.event.id, WaitlistEntry.status == "claimed")
    ).all()
    assert sorted(row[0] for row in claimed) == sorted(user.id for user in claimers)
    assert all(row[0] == row[1] and row[2:] == (1, "confirmed") for row in claimed)
    assert state["claimed"] == 7
    assert (state["expired"], state["declined"]) == (3, 3)
    # 20 booked and 13 held at the start; 8 cancelled; 7 claimed; whatever bookings got in.
    assert state["booked"] == 20 - 8 + 7 + outcomes["book:303"]
