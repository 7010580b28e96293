"""The waitlist in a real browser: a sold-out event, a member in line, seats freed by another
member's cancellation, the offer email and its claim link."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventmate.bookings.emails import CANCELLED
from eventmate.extensions import db
from eventmate.models import Booking, Event, User, WaitlistEntry
from eventmate.models.waitlist import CLAIMED
from eventmate.waitlist.offers import OFFER
from tests.e2e.journeys import assert_booking_confirmation, log_in
from tests.factories import make_booking, make_city, make_event, make_member
from tests.mail import site_links_in, text_of

SLUG = "attic-sessions"


def seed_site() -> None:
    """(See the `site` fixture.) Both seats of a small event are Otto's; Wanda wants one."""
    city = make_city(name="Antwerp", slug="antwerp", country="Belgium", timezone="Europe/Brussels")
    event = make_event(title="Attic Sessions", slug=SLUG, city=city, capacity=2, max_per_booking=2)
    make_booking(event, quantity=2, user=make_member(email="otto@example.com", display_name="Otto"))
    make_member(email="wanda@example.com", display_name="Wanda")


def seats() -> dict[str, int]:
    event = db.session.scalar(select(Event).where(Event.slug == SLUG))
    return {"booked": event.seats_booked, "held": event.seats_held, "capacity": event.capacity}


def wandas_bookings_and_entries() -> tuple[list[tuple], list[tuple]]:
    wanda = db.session.scalar(select(User).where(User.email == "wanda@example.com"))
    bookings = db.session.execute(
        select(Booking.id, Booking.reference, Booking.status, Booking.quantity)
        .join(Booking.event)
        .where(Booking.user_id == wanda.id, Event.slug == SLUG)
    ).all()
    entries = db.session.execute(
        select(WaitlistEntry.status, WaitlistEntry.quantity, WaitlistEntry.booking_id).where(
            WaitlistEntry.user_id == wanda.id
        )
    ).all()
    return [tuple(row) for row in bookings], [tuple(row) for row in entries]


def test_member_waits_for_a_sold_out_event_and_claims_the_seat_a_cancellation_frees(
    page: Page, open_page, site
):
    wanda = page
    log_in(wanda, "wanda@example.com")
    wanda.goto(f"/events/{SLUG}/")
    expect(wanda.get_by_role("heading", level=1)).to_have_text("Attic Sessions")
    expect(wanda.locator(".availability")).to_have_text("Sold out")
    expect(wanda.get_by_role("button", name="Book", exact=True)).to_have_count(0)

    join = wanda.locator("form.waitlist-form")
    join.get_by_label("Seats").select_option("1")
    join.get_by_role("button", name="Join the waitlist").click()
    flash = wanda.get_by_text("You're on the waitlist for 1 seat: number 1 in line.")
    expect(flash).to_be_visible()
    expect(wanda.locator(".waitlist--waiting")).to_contain_text("number 1 in line for 1 seat")
    expect(wanda.get_by_role("button", name="Join the waitlist")).to_have_count(0)
    assert site.emails_to("wanda@example.com", OFFER) == []

    # Otto, in a browser of his own, cancels his two seats.
    otto = open_page()
    log_in(otto, "otto@example.com")
    otto.get_by_role("link", name="My bookings").first.click()
    upcoming = otto.locator("section", has=otto.get_by_role("heading", name="Upcoming"))
    upcoming.get_by_role("link", name="Attic Sessions").click()
    ottos_reference = otto.locator("dd.reference").inner_text()
    otto.get_by_role("link", name="Cancel seats…").click()
    otto.get_by_role("button", name="Cancel seats").click()  # all of them, as offered
    expect(otto.get_by_text(f"Booking {ottos_reference} is cancelled")).to_be_visible()
    assert len(site.emails_to("otto@example.com", CANCELLED)) == 1
    # One of the two seats is held for Wanda; the other is free to book.
    assert site.run(seats) == {"booked": 0, "held": 1, "capacity": 2}

    [offer] = site.emails_to("wanda@example.com", OFFER)
    assert offer["Subject"].startswith("Seats for you: Attic Sessions, held until ")
    assert "1 seat is held for you" in text_of(offer)
    [claim_link] = [link for link in site_links_in(offer) if link.endswith("/waitlist/claim/")]
    assert claim_link == f"/events/{SLUG}/waitlist/claim/"

    wanda.goto(claim_link)  # as if from the mail app, still signed in
    expect(wanda.get_by_role("heading", level=1)).to_have_text("Seats held for you: Attic Sessions")
    wanda.get_by_role("button", name="Book 1 seat").click()

    expect(wanda.get_by_text("You're booked! Your seats are confirmed.")).to_be_visible()
    expect(wanda.get_by_role("heading", level=1)).to_have_text("You're going to Attic Sessions")
    expect(wanda.locator("span.status")).to_have_text("Confirmed")
    expect(wanda.locator("dl.summary dt:text-is('Seats') + dd")).to_have_text("1")
    reference = wanda.locator("dd.reference").inner_text()

    [booking], [entry] = site.run(wandas_bookings_and_entries)
    assert booking[1:] == (reference, "confirmed", 1)
    assert entry == (CLAIMED, 1, booking[0])  # out of the line: it became the booking
    assert_booking_confirmation(site, "wanda@example.com", reference, SLUG)

    wanda.goto(f"/events/{SLUG}/")
    expect(wanda.get_by_text("1 of 2 seats left")).to_be_visible()
    expect(wanda.locator(".waitlist")).to_have_count(0)
    ledger = site.run(seats)
    assert ledger == {"booked": 1, "held": 0, "capacity": 2}
    assert ledger["booked"] + ledger["held"] <= ledger["capacity"]
