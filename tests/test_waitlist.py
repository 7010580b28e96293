"""The waitlist of a sold-out event: joining, offers of freed seats held for the next in line,
claiming, declining and expiring them (eventmate/waitlist)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventmate.bookings.services import new_request_token
from eventmate.extensions import db
from eventmate.models import Booking, Event, OutboxMessage, WaitlistEntry
from eventmate.notifications import outbox as notifications_outbox
from eventmate.waitlist.services import expire_holds
from tests import mail
from tests.conftest import csrf_token, sign_in
from tests.factories import make_booking, make_city, make_event, make_member

OFFER = "waitlist_offer"


class Member:
    """A signed-in member with a test client of their own."""

    def __init__(self, app, **fields) -> None:
        self.user = make_member(**fields)
        db.session.commit()
        self.email = self.user.email
        self.client = app.test_client()
        sign_in(self.client, self.email)

    def page(self, event) -> str:
        return html.unescape(self.client.get(f"/events/{event.slug}/").get_data(as_text=True))

    def text(self, event) -> str:
        """The event page's words, without tags."""
        return text_of(self.client.get(f"/events/{event.slug}/"))

    def join(self, event, quantity):
        token = csrf_token(self.client, f"/events/{event.slug}/")
        data = {"csrf_token": token, "quantity": str(quantity)}
        return self.client.post(f"/events/{event.slug}/waitlist/", data=data)

    def post(self, event, action: str):
        token = csrf_token(self.client, f"/events/{event.slug}/")
        url = f"/events/{event.slug}/waitlist/{action}"
        return self.client.post(url, data={"csrf_token": token})

    def book(self, event, quantity):
        """A booking form (from when seats were left: a sold-out page has none), sent."""
        token = csrf_token(self.client, f"/events/{event.slug}/")
        data = {"csrf_token": token, "request_token": new_request_token(), "quantity": quantity}
        return self.client.post(f"/events/{event.slug}/book/", data=data)


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


@pytest.fixture
def members(app, db_session):
    """`members(n)`: n new signed-in members."""
    return lambda n, **fields: [Member(app, **fields) for _ in range(n)]


def sold_out(capacity=4, max_per_booking=4, **fields) -> tuple[Event, list[Booking]]:
    """An event whose seats are taken by bookings of 2 seats (and 1 for an odd capacity)."""
    event = make_event(capacity=capacity, max_per_booking=max_per_booking, **fields)
    sizes = [2] * (capacity // 2) + [1] * (capacity % 2)
    bookings = [make_booking(event, quantity=n, user=make_member()) for n in sizes]
    db.session.commit()
    return event, bookings


@pytest.fixture
def cancel(app):
    """`cancel(booking)`: its owner cancels it, through the site."""

    def cancel_it(booking: Booking):
        client = app.test_client()
        sign_in(client, booking.user.email)
        token = csrf_token(client, f"/bookings/{booking.reference}/cancel/")
        url = f"/bookings/{booking.reference}/cancel/"
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 303
        return response

    return cancel_it


def entries(event) -> dict[int, tuple[str, int]]:
    """user id -> (status, quantity) of the event's latest entries."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.event_id == event.id).order_by(WaitlistEntry.id)
    ).all()
    return {entry.user_id: (entry.status, entry.quantity) for entry in rows}


def assert_ledger(event) -> Event:
    """seats_booked = the confirmed bookings' seats, seats_held = the offered entries' seats,
    and together no more than the capacity."""
    db.session.expire_all()
    fresh = db.session.get(Event, event.id)
    confirmed = db.session.scalar(
        select(func.coalesce(func.sum(Booking.quantity), 0)).where(
            Booking.event_id == event.id, Booking.status == "confirmed"
        )
    )
    held = db.session.scalar(
        select(func.coalesce(func.sum(WaitlistEntry.quantity), 0)).where(
            WaitlistEntry.event_id == event.id, WaitlistEntry.status == "offered"
        )
    )
    assert (fresh.seats_booked, fresh.seats_held) == (confirmed, held)
    assert confirmed + held <= fresh.capacity
    return fresh


def offers_to(app, member) -> list:
    return mail.emails_to(app, member.email, OFFER)


# --- joining and leaving ------------------------------------------------------------------


def test_member_joins_a_sold_out_events_waitlist_and_sees_their_place(app, members):
    event, _ = sold_out()
    first, second = members(2)

    page = first.page(event)
    assert "Sold out" in page
    assert "Join the waitlist" in page
    assert ">Book</button>" not in page
    response = first.join(event, 2)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{event.slug}/"
    assert "number 1 in line" in first.text(event)
    assert second.join(event, 3).status_code == 303

    page = second.page(event)
    assert "You're on the waitlist: number 2 in line for 3 seats." in second.text(event)
    assert "Leave the waitlist" in page
    assert "Join the waitlist" not in page
    assert entries(event) == {first.user.id: ("waiting", 2), second.user.id: ("waiting", 3)}


def test_anonymous_visitors_are_asked_to_log_in_to_join(client, db_session):
    event, _ = sold_out()
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert "Log in to join the waitlist" in page
    token = csrf_token(client, "/login/")
    response = client.post(f"/events/{event.slug}/waitlist/", data={"csrf_token": token,
                                                                     "quantity": "1"})  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_joining_is_refused_while_enough_seats_are_left(app, members):
    event = make_event(capacity=5, max_per_booking=4)
    make_booking(event, quantity=3)
    db.session.commit()
    (member,) = members(1)

    page = member.page(event)
    assert ">Book</button>" in page  # 2 left: book them, or wait for 3 or 4
    assert '<option value="3">3</option><option value="4">4</option>' in page
    refused = member.join(event, 2)
    assert refused.status_code == 409
    assert "2 seats are still left" in html.unescape(refused.get_data(as_text=True))
    assert member.join(event, 3).status_code == 303
    assert entries(event) == {member.user.id: ("waiting", 3)}


def test_an_event_with_plenty_of_seats_shows_no_waitlist(app, members):
    event = make_event(capacity=50, max_per_booking=4)
    db.session.commit()
    (member,) = members(1)
    assert "waitlist" not in member.page(event).lower()
    assert member.join(event, 4).status_code == 409


def test_unverified_members_cannot_join(app, members):
    event, _ = sold_out()
    (member,) = members(1, email_verified_at=None)
    assert "Verify your email address to join the waitlist" in member.page(event)
    assert member.join(event, 1).status_code == 403
    assert entries(event) == {}


def test_joining_twice_is_refused(app, members):
    event, _ = sold_out()
    (member,) = members(1)
    token = csrf_token(member.client, f"/events/{event.slug}/")
    assert member.join(event, 1).status_code == 303
    data = {"csrf_token": token, "quantity": "2"}  # the form, sent again
    again = member.client.post(f"/events/{event.slug}/waitlist/", data=data)
    assert again.status_code == 409
    assert "already on the waitlist" in html.unescape(again.get_data(as_text=True))
    assert entries(event) == {member.user.id: ("waiting", 1)}


@pytest.mark.parametrize("quantity", ["5", "0", "abc", ""])
def test_quantities_outside_one_to_max_per_booking_are_refused(app, members, quantity):
    event, _ = sold_out(max_per_booking=4)
    (member,) = members(1)
    response = member.join(event, quantity)
    assert response.status_code == 400
    assert entries(event) == {}


def test_positions_count_the_waiting_members_ahead(app, members):
    event, _ = sold_out()
    first, second, third = members(3)
    for member in (first, second, third):
        assert member.join(event, 1).status_code == 303
    assert "number 3 in line" in third.text(event)

    assert second.post(event, "leave/").status_code == 303
    assert "number 2 in line" in third.text(event)
    assert "number 1 in line" in first.text(event)
    page = second.page(event)
    assert "Join the waitlist" in page
    assert entries(event)[second.user.id] == ("left", 1)
    # Leaving and joining again is a new place at the back.
    assert second.join(event, 1).status_code == 303
    assert "number 3 in line" in second.text(event)


def test_leaving_when_not_in_line_is_a_404(app, members):
    event, _ = sold_out()
    (member,) = members(1)
    assert member.post(event, "leave/").status_code == 404


# --- offers -------------------------------------------------------------------------------


def test_a_cancellation_holds_the_seats_for_the_first_in_line_they_fit(
    app, members, cancel, outbox
):
    event, (booking, _) = sold_out(capacity=4)
    wants_three, wants_two, wants_one = members(3)
    for member, quantity in ((wants_three, 3), (wants_two, 2), (wants_one, 1)):
        assert member.join(event, quantity).status_code == 303

    cancel(booking)  # 2 seats free: too few for the first, right for the second

    assert entries(event) == {
        wants_three.user.id: ("waiting", 3),
        wants_two.user.id: ("offered", 2),
        wants_one.user.id: ("waiting", 1),
    }
    fresh = assert_ledger(event)
    assert (fresh.seats_booked, fresh.seats_held, fresh.seats_left) == (2, 2, 0)
    (offer,) = offers_to(app, wants_two)
    assert offers_to(app, wants_three) == offers_to(app, wants_one) == []
    assert mail.links_in(offer)[:1] == [f"/events/{event.slug}/waitlist/claim/"]
    assert "2 seats are held for you until" in mail.text_of(offer)
    assert offer["Subject"].startswith(f"Seats for you: {event.title}, held until ")

    # Nobody else can take the held seats.
    (outsider,) = members(1)
    assert "Sold out" in outsider.page(event)
    refused = outsider.book(event, 1)  # a booking form from before it sold out
    assert refused.status_code == 409
    assert "sold out" in refused.get_data(as_text=True)
    assert "number 1 in line" in wants_three.text(event)
    assert "number 2 in line" in wants_one.text(event)  # the offered member isn't counted


def test_claiming_books_the_held_seats_with_a_confirmation(app, members, cancel, outbox):
    event, (booking, _) = sold_out(capacity=4)
    (waiting,) = members(1)
    waiting.join(event, 2)
    cancel(booking)
    (offer,) = offers_to(app, waiting)
    claim_url = mail.links_in(offer)[0]

    page = html.unescape(waiting.client.get(claim_url).get_data(as_text=True))
    assert "Seats held for you" in page
    offer = page[page.index('<section class="booking">') :]
    assert offer[: offer.index("</section>")].count('type="submit"') == 1  # one button
    assert ">Book 2 seats</button>" in page
    token = csrf_token(waiting.client, claim_url)
    response = waiting.client.post(claim_url, data={"csrf_token": token})

    assert response.status_code == 303
    reference = response.headers["Location"].split("/")[-2]
    claimed = db.session.scalar(select(Booking).where(Booking.reference == reference))
    assert (claimed.user_id, claimed.quantity, claimed.status) == (waiting.user.id, 2, "confirmed")
    assert claimed.request_token
    db.session.expire_all()
    entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.user_id == waiting.user.id))
    assert (entry.status, entry.booking_id) == ("claimed", claimed.id)
    fresh = assert_ledger(event)
    assert (fresh.seats_booked, fresh.seats_held) == (4, 0)
    (confirmation,) = mail.emails_to(app, waiting.email, "booking_confirmed")
    assert confirmation["X-EventMate-Send-Key"] == f"booking-confirmed:{claimed.id}"
    assert reference in mail.text_of(confirmation)
    assert "You're booked!" in text_of(waiting.client.get(response.headers["Location"]))
    # A second click on the same button finds the same booking.
    again = waiting.client.post(claim_url, data={"csrf_token": token})
    assert again.headers["Location"] == response.headers["Location"]
    assert waiting.client.get(claim_url).headers["Location"] == response.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 3


def test_the_event_page_shows_the_offer_with_its_local_expiry(app, members, cancel, clock):
    clock(datetime(2031, 3, 1, 17, 0, tzinfo=UTC))
    berlin = make_city(name="Berlin", slug="berlin-w", timezone="Europe/Berlin")
    event, (booking, _) = sold_out(capacity=4, city=berlin)
    (waiting,) = members(1)
    waiting.join(event, 1)
    cancel(booking)

    page = waiting.page(event)
    # Held for 30 minutes from 17:00 UTC: 18:30 in Berlin (CET).
    assert "1 seat is held for you until Sat 1 Mar 2031, 18:30 CET" in waiting.text(event)
    assert ">Claim</button>" in page
    assert ">Decline</button>" in page
    assert f'href="/events/{event.slug}/waitlist/claim/"' in page
    # Claiming from the event page's button works as from the claim page.
    token = csrf_token(waiting.client, f"/events/{event.slug}/")
    claimed = waiting.client.post(f"/events/{event.slug}/waitlist/claim/",
                                  data={"csrf_token": token})  # fmt: skip
    assert claimed.status_code == 303
    assert claimed.headers["Location"].startswith("/bookings/")


def test_declining_offers_the_seats_to_the_next_in_line_they_fit(app, members, cancel, outbox):
    event, (booking, _) = sold_out(capacity=4)
    first, wants_three, last = members(3)
    first.join(event, 2)
    wants_three.join(event, 3)
    last.join(event, 1)
    cancel(booking)
    assert entries(event)[first.user.id] == ("offered", 2)

    response = first.post(event, "decline/")

    assert response.status_code == 303
    assert entries(event) == {
        first.user.id: ("declined", 2),
        wants_three.user.id: ("waiting", 3),  # 2 seats free: still too few
        last.user.id: ("offered", 1),
    }
    fresh = assert_ledger(event)
    assert (fresh.seats_held, fresh.seats_left) == (1, 1)
    assert len(offers_to(app, last)) == 1
    refused = first.client.get(f"/events/{event.slug}/waitlist/claim/")
    assert refused.status_code == 409
    assert "You declined these seats" in html.unescape(refused.get_data(as_text=True))


def test_an_expired_hold_goes_to_the_next_in_line(app, members, cancel, outbox, clock):
    start = clock(datetime(2031, 5, 10, 12, 0, tzinfo=UTC))
    event, (booking, _) = sold_out(capacity=4)
    first, second = members(2)
    first.join(event, 2)
    second.join(event, 2)
    cancel(booking)
    assert entries(event)[first.user.id] == ("offered", 2)

    clock(start + timedelta(minutes=29))
    assert expire_holds(datetime.now(UTC)) == 0  # not yet
    assert entries(event)[first.user.id] == ("offered", 2)

    clock(start + timedelta(minutes=30))
    assert expire_holds(datetime.now(UTC)) == 1

    assert entries(event) == {first.user.id: ("expired", 2), second.user.id: ("offered", 2)}
    assert assert_ledger(event).seats_held == 2
    assert len(offers_to(app, second)) == 1
    refused = first.client.get(f"/events/{event.slug}/waitlist/claim/")
    assert refused.status_code == 409
    assert "held for you until" in html.unescape(refused.get_data(as_text=True))


def test_a_claim_after_the_hold_ran_out_is_refused_and_passes_the_seats_on(
    app, members, cancel, outbox, clock
):
    start = clock(datetime(2031, 5, 10, 12, 0, tzinfo=UTC))
    event, (booking, _) = sold_out(capacity=4)
    late, next_in_line = members(2)
    late.join(event, 2)
    next_in_line.join(event, 1)
    cancel(booking)
    claim_url = mail.links_in(offers_to(app, late)[0])[0]
    token = csrf_token(late.client, claim_url)  # the page was open while the time ran out

    clock(start + timedelta(minutes=31))  # and the sweep hasn't run yet
    response = late.client.post(claim_url, data={"csrf_token": token})

    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    assert "the seats were held for you until" in page
    assert "Nothing was booked" in page
    assert entries(event) == {late.user.id: ("expired", 2), next_in_line.user.id: ("offered", 1)}
    fresh = assert_ledger(event)
    assert (fresh.seats_booked, fresh.seats_held, fresh.seats_left) == (2, 1, 1)


def test_the_expiry_job_runs_from_the_command_line(app, members, cancel, clock, runner):
    start = clock(datetime(2031, 5, 10, 12, 0, tzinfo=UTC))
    event, (booking,) = sold_out(capacity=2)
    first, second = members(2)
    first.join(event, 2)
    second.join(event, 2)
    cancel(booking)
    clock(start + timedelta(hours=1))
    result = runner.invoke(args=["jobs", "run", "holds"])
    assert result.exit_code == 0, result.output
    assert "holds: 1 message(s) handed out" in result.output
    assert entries(event) == {first.user.id: ("expired", 2), second.user.id: ("offered", 2)}


def test_a_higher_capacity_is_offered_to_the_line(app, client, db_session, host, members, outbox):
    lisbon = make_city(name="Lisbon", slug="lisbon-w", timezone="Europe/Lisbon")
    event, _ = sold_out(capacity=4, city=lisbon, host=host)
    first, second, third = members(3)
    first.join(event, 3)
    second.join(event, 2)
    third.join(event, 2)

    response = client.post(f"/host/events/{event.slug}/edit/", data={
        **edit_form(event), "capacity": "9", "csrf_token": csrf_token(client, "/host/"),
    })  # fmt: skip

    assert response.status_code == 303, response.get_data(as_text=True)
    assert entries(event) == {
        first.user.id: ("offered", 3),
        second.user.id: ("offered", 2),
        third.user.id: ("waiting", 2),  # 5 new seats: 3 + 2
    }
    fresh = assert_ledger(event)
    assert (fresh.capacity, fresh.seats_held, fresh.seats_left) == (9, 5, 0)
    assert len(offers_to(app, first)) == len(offers_to(app, second)) == 1
    # The dashboard counts the line and the held seats (its query counts them all at once).
    dashboard = html.unescape(client.get("/host/").get_data(as_text=True))
    assert "1 waiting · 5 held" in dashboard
    # The capacity can't drop below the seats booked and held.
    refused = client.post(f"/host/events/{event.slug}/edit/", data={
        **edit_form(event), "capacity": "8", "csrf_token": csrf_token(client, "/host/"),
    })  # fmt: skip
    assert refused.status_code == 400
    assert "9 seats are already booked or held for the waitlist" in html.unescape(
        refused.get_data(as_text=True)
    )


def edit_form(event) -> dict[str, str]:
    """The host's edit form of `event` as it stands (local times, as the form shows them)."""
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    zone = event.city.zone
    return {
        "title": event.title, "description": event.description, "category": event.category,
        "city_id": str(event.city_id), "venue_name": event.venue_name,
        "venue_address": event.venue_address,
        "starts_at": event.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": event.ends_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "capacity": str(event.capacity), "max_per_booking": str(event.max_per_booking),
        "price": str(event.price), "currency": event.currency,
    }  # fmt: skip


def test_the_dashboard_shows_each_events_waitlist_without_a_query_per_event(
    app, client, db_session, host, members, count_queries
):
    lines = []
    for size in (1, 3):
        event, _ = sold_out(capacity=2, host=host)
        for member in members(size):
            member.join(event, 1)
        lines.append(event)
    make_event(host=host)  # no line
    db_session.commit()
    client.get("/host/")
    with count_queries() as counter:
        page = client.get("/host/").get_data(as_text=True)
    assert "1 waiting" in page
    assert "3 waiting" in page
    assert counter.count <= 2, "\n".join(counter.statements)  # the host (unless cached), events


def test_claiming_another_members_offer_is_a_404(app, members, cancel, outbox):
    event, (booking, _) = sold_out(capacity=4)
    waiting, stranger = members(2)
    waiting.join(event, 2)
    cancel(booking)
    claim_url = f"/events/{event.slug}/waitlist/claim/"
    assert stranger.client.get(claim_url).status_code == 404
    token = csrf_token(stranger.client, "/me/bookings/")
    assert stranger.client.post(claim_url, data={"csrf_token": token}).status_code == 404
    assert stranger.post(event, "decline/").status_code == 404
    assert entries(event)[waiting.user.id] == ("offered", 2)
    # Signed out, the link asks to log in first.
    anonymous = app.test_client()
    assert anonymous.get(claim_url).headers["Location"].startswith("/login/")


def test_the_sweep_closes_the_line_of_an_event_that_started_or_was_hidden(
    app, members, cancel, outbox, clock
):
    start = clock(datetime(2031, 5, 10, 12, 0, tzinfo=UTC))
    soon, _ = sold_out(capacity=2, starts_at=start + timedelta(hours=2))
    hidden, _ = sold_out(capacity=2)
    offered, waiting, other = members(3)
    offered.join(soon, 2)
    waiting.join(soon, 1)
    other.join(hidden, 2)
    cancel(db.session.scalar(select(Booking).where(Booking.event_id == soon.id)))
    db.session.get(Event, hidden.id).is_active = False
    db.session.commit()

    clock(start + timedelta(hours=2, minutes=1))
    assert expire_holds(datetime.now(UTC)) == 0

    assert entries(soon) == {offered.user.id: ("closed", 2), waiting.user.id: ("closed", 1)}
    assert entries(hidden) == {other.user.id: ("closed", 2)}
    assert assert_ledger(soon).seats_held == 0
    assert expire_holds(datetime.now(UTC)) == 0  # nothing left to do


def test_the_offer_email_is_not_sent_once_the_offer_ended(
    app, members, cancel, outbox, queued_not_sent
):
    event, (booking, _) = sold_out(capacity=4)
    (waiting,) = members(1)
    waiting.join(event, 2)
    cancel(booking)  # the offer is queued, not sent (no worker)
    assert waiting.post(event, "decline/").status_code == 303
    offer_ids = db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.kind == OFFER)
    ).all()
    assert len(offer_ids) == 1
    assert notifications_outbox.deliver(offer_ids) == 0  # skipped: nothing is held any more
    assert offers_to(app, waiting) == []


# --- the event page's budget ----------------------------------------------------------------


def test_a_members_waitlist_part_costs_one_query_and_only_when_needed(
    app, members, count_queries
):
    plenty = make_event(capacity=50, max_per_booking=4)
    full, _ = sold_out()
    db.session.commit()
    (member,) = members(1)
    member.join(full, 1)
    counts = {}
    for name, event in (("plenty", plenty), ("full", full)):
        member.page(event)  # the shared page cached (where the cache is shared), member loaded
        with count_queries() as counter:
            member.client.get(f"/events/{event.slug}/")
        counts[name] = counter.count
    # The member's place in line: one query. Where event pages aren't kept (no shared cache),
    # the shared part is rendered each time, and a sold-out one suggests events with seats.
    rendered_each_time = not app.config["CACHE_IS_SHARED"]
    assert counts["full"] == counts["plenty"] + 1 + rendered_each_time


def test_anonymous_event_page_needs_no_waitlist_query(client, db_session, count_queries):
    event, _ = sold_out()
    db_session.commit()
    with count_queries() as counter:
        page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert "Log in to join the waitlist" in page
    assert not any("waitlist" in statement for statement in counter.statements)
    assert re.search(r"Sold out", page)
