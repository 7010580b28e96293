"""The journeys a release must never break, in a real browser."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventmate.auth.services import hash_password
from eventmate.extensions import db
from eventmate.models import Booking, Event
from tests.conftest import PASSWORD
from tests.e2e.journeys import assert_booking_confirmation, log_in
from tests.factories import make_booking, make_city, make_event, make_user, now
from tests.mail import site_links_in


def seed_site() -> None:
    """Everything the journeys start from (see the `site` fixture)."""
    seed_listings()
    seed_host()
    seed_sold_out()
    make_user(email="rhea@example.com", display_name="Rhea", password_hash=hash_password(PASSWORD))


def seed_host() -> None:
    make_city(name="Lyon", slug="lyon", country="France", timezone="Europe/Paris")
    make_user(email="hugo@example.com", display_name="Hugo Host", is_host=True,
              password_hash=hash_password(PASSWORD))  # fmt: skip


def seed_sold_out() -> None:
    city = make_city(name="Ghent", slug="ghent", country="Belgium", timezone="Europe/Brussels")
    full = make_event(title="Tiny Gig", slug="tiny-gig", city=city, capacity=2)
    make_booking(full, quantity=2)
    make_event(title="Last Seat Show", slug="last-seat-show", city=city, capacity=1)
    make_user(email="sam@example.com", display_name="Sam", password_hash=hash_password(PASSWORD))


def seed_listings() -> None:
    porto = make_city(name="Porto", slug="porto", country="Portugal", timezone="Europe/Lisbon")
    host = make_user(display_name="Rita Host", is_host=True)
    make_event(title="Harbour Jazz Night", slug="harbour-jazz-night", city=porto, host=host,
               category="music", capacity=20, max_per_booking=4,
               description="Saxophones and sea air on the Douro.")  # fmt: skip
    make_event(title="Pottery Basics", slug="pottery-basics", city=porto, host=host,
               category="education", description="Clay, wheels and jazz on the radio.")  # fmt: skip
    make_event(title="Berlin Jazz Brunch", slug="berlin-jazz-brunch", category="music")


def seats_booked(slug: str) -> int:
    return db.session.scalar(select(Event.seats_booked).where(Event.slug == slug))


def test_visitor_searches_registers_books_and_cancels(page: Page, site):
    page.goto("/")
    page.get_by_label("What are you looking for?").fill("jazz")
    page.get_by_role("button", name="Search events").click()
    expect(page.get_by_role("heading", name="Events matching “jazz”")).to_be_visible()
    expect(page.locator(".card-title")).to_have_count(3)

    filters = page.get_by_role("search", name="Filter events")
    filters.get_by_label("Category").select_option("music")
    filters.get_by_label("City").select_option("porto")
    filters.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".card-title")).to_have_text(["Harbour Jazz Night"])

    page.get_by_role("link", name=re.compile("Harbour Jazz Night")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Jazz Night")
    expect(page.get_by_text("20 of 20 seats left")).to_be_visible()

    page.get_by_role("link", name="Log in to book").click()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Your name").fill("Vera Visitor")
    page.get_by_label("Email").fill("vera@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    [email] = site.emails_to("vera@example.com", "verify_email")
    [link] = [link for link in site_links_in(email) if link.startswith("/account/confirm/")]
    page.goto(link)  # as if from the mail app: confirmed, signed in, back on the event

    expect(page.get_by_text("your email address is confirmed")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Jazz Night")
    page.get_by_label("Seats").select_option("2")
    page.get_by_role("button", name="Book").click()

    expect(page.get_by_text("You're booked!")).to_be_visible()
    reference = page.locator("dd.reference").inner_text()
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}", reference)
    assert site.run(lambda: seats_booked("harbour-jazz-night")) == 2
    # In Vera's inbox: the confirmation, with the calendar file.
    assert_booking_confirmation(site, "vera@example.com", reference, "harbour-jazz-night")

    page.get_by_role("link", name="My bookings").first.click()
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming"))
    expect(upcoming).to_contain_text("Harbour Jazz Night")
    expect(upcoming).to_contain_text("2 seats")

    upcoming.get_by_role("link", name="Harbour Jazz Night").click()
    # Cancelling asks first, and can give back some of the seats.
    page.get_by_role("link", name="Cancel seats…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Cancel seats for “Harbour Jazz Night”?"
    )
    assert site.run(lambda: seats_booked("harbour-jazz-night")) == 2  # asking changed nothing
    page.get_by_label("Seats to cancel").select_option("1")
    page.get_by_role("button", name="Cancel seats").click()
    released = f"1 seat of booking {reference} cancelled and released"
    expect(page.get_by_text(released)).to_be_visible()
    assert site.run(lambda: seats_booked("harbour-jazz-night")) == 1
    page.get_by_role("link", name="Cancel seats…").click()
    page.get_by_role("button", name="Cancel my seat").click()
    expect(page.get_by_text(f"Booking {reference} is cancelled")).to_be_visible()
    assert site.run(lambda: seats_booked("harbour-jazz-night")) == 0


def png_file(tmp_path) -> str:
    path = tmp_path / "poster.png"
    image = Image.new("RGB", (800, 450), (90, 60, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_host_creates_previews_publishes_edits_and_deactivates_an_event(
    page: Page, open_page, site, tmp_path
):
    log_in(page, "hugo@example.com")

    page.get_by_role("link", name="Host", exact=True).click()
    page.get_by_role("link", name="New event").click()
    start = (now() + timedelta(days=20)).strftime("%Y-%m-%dT19:00")
    end = (now() + timedelta(days=20)).strftime("%Y-%m-%dT22:00")
    page.get_by_label("Title").fill("Silk Weavers' Market")
    page.get_by_label("Description").fill("Local makers, silk scarves and street food in Lyon.")
    page.get_by_label("Category", exact=True).select_option("community")
    page.get_by_label("City", exact=True).select_option(label="Lyon")
    page.get_by_label("Venue").fill("Croix-Rousse Hall")
    page.get_by_label("Starts (local time)").fill(start)
    page.get_by_label("Ends (local time)").fill(end)
    page.get_by_label("Capacity", exact=True).fill("50")
    page.get_by_label("Most seats in one booking").fill("4")
    page.get_by_label("Price (0 for free)").fill("0")
    # Left to the city, the currency is Lyon's: France's (city-currency.js names it).
    expect(page.get_by_label("Currency").locator("option").first).to_have_text(
        "The city's currency (EUR)"
    )
    page.get_by_role("button", name="Save draft and preview").click()

    # A draft: its page as visitors will see it, for the host only, until it is published.
    expect(page.get_by_text("Your draft is saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Draft — only you can see this")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Silk Weavers' Market")
    slug = page.url.rstrip("/").split("/")[-2]  # …/host/events/<slug>/preview/
    assert open_page().goto(f"/events/{slug}/").status == 404  # anyone else: no such page

    page.get_by_role("link", name="Images", exact=True).click()
    image_field = page.get_by_label("Image (JPEG, PNG or WebP, up to 5 MB and 16 megapixels)")
    image_field.set_input_files(png_file(tmp_path))
    page.get_by_label("Describe the image").fill("Silk scarves hanging at a market stall")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Image added.")).to_be_visible()

    page.get_by_role("link", name="Back to the preview").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("is published: it is on the site now.")).to_be_visible()
    expect(page.get_by_role("heading", name="Draft — only you can see this")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Silk Weavers' Market")
    expect(page.get_by_role("img", name="Silk scarves hanging at a market stall")).to_be_visible()
    expect(page.get_by_text("19:00 CET").or_(page.get_by_text("19:00 CEST")).first).to_be_visible()
    public_url = page.url

    page.get_by_role("link", name="Host", exact=True).click()
    row = page.get_by_role("row", name=re.compile("Silk Weavers"))
    expect(row).to_contain_text("0 / 50")
    row.get_by_role("link", name="Edit").click()
    page.get_by_label("Capacity", exact=True).fill("30")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("row", name=re.compile("Silk Weavers"))).to_contain_text("0 / 30")

    page.get_by_role("row", name=re.compile("Silk Weavers")).get_by_role(
        "link", name="Deactivate"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Take “Silk Weavers' Market” off the site?"
    )
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_text("is hidden from the site")).to_be_visible()
    response = page.goto(public_url)
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_sold_out_event_says_so_and_refuses_a_booking(page: Page, site):
    log_in(page, "sam@example.com")

    page.goto("/events/tiny-gig/")
    expect(page.locator(".availability")).to_have_text("Sold out")
    expect(page.get_by_role("button", name="Book")).to_have_count(0)

    # Sam opens the last seat's page; someone else books it before Sam clicks.
    page.goto("/events/last-seat-show/")
    expect(page.get_by_text("1 of 1 seats left")).to_be_visible()

    def someone_else_books():
        event = db.session.scalar(select(Event).where(Event.slug == "last-seat-show"))
        make_booking(event, quantity=1)

    site.run(someone_else_books)
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="We couldn't book that")).to_be_visible()
    expect(page.get_by_text("Sorry, this event is sold out.")).to_be_visible()

    def sams_bookings():
        return db.session.scalar(
            select(Booking.id).join(Booking.user).where(Booking.user.has(email="sam@example.com"))
        )

    assert site.run(sams_bookings) is None


def test_member_who_forgot_their_password_chooses_a_new_one(page: Page, site):
    new_password = "a new passphrase for Rhea"
    page.goto("/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("rhea@example.com")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_text("If an account exists for rhea@example.com")).to_be_visible()

    [email] = site.emails_to("rhea@example.com", "password_reset")
    [link] = [link for link in site_links_in(email) if link.startswith("/password/reset/")]
    page.goto(link)
    page.get_by_label("New password").fill(new_password)
    page.get_by_label("Repeat password").fill(new_password)
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    log_in(page, "rhea@example.com", new_password)
    expect(page.get_by_text("Welcome back, Rhea.")).to_be_visible()
