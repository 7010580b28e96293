"""Accessibility (issue 16, item 15): axe-core finds no serious or critical violation on the
main pages at 1280 and 390 px, signed out, as a member and as a host, including forms showing
their errors; the focus ring stands out, the phone gallery is reachable by keyboard, and a
form with errors puts the focus on its summary of them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.models import User
from tests.e2e.axe import axe_problems
from tests.e2e.journeys import HOST_EMAIL, LONG_NAME, MEMBER_EMAIL, log_in, seed_people_and_an_event
from tests.factories import make_booking, make_event, make_image, make_review, now

WIDTHS = (1280, 390)


def seed_site() -> None:
    event = seed_people_and_an_event()
    for n, alt in enumerate(["Lanterns over the water", "The crowd on the quay"]):
        make_image(event, url=f"/static/img/demo/music-{n + 1}.svg", alt_text=alt, position=n)
    make_review(event, rating=5, body="Magical by the water.")
    make_review(event, rating=3, body="Crowded, but pretty.")
    sold_out = make_event(slug="quay-quartet", title="Quay Quartet", city=event.city, capacity=2)
    make_booking(sold_out, quantity=2)
    # An event the member went to, for the review form.
    member = db.session.scalar(select(User).where(User.email == MEMBER_EMAIL))
    past = make_event(slug="lantern-workshop", title="Lantern Workshop", city=event.city,
                      starts_at=now() - timedelta(days=30))  # fmt: skip
    make_booking(past, user=member)


def host_id() -> int:
    return db.session.scalar(select(User.id).where(User.email == HOST_EMAIL))


def submit_empty(button: str) -> Callable[[Page], None]:
    """A step that sends the form on the page as it is (empty), to see its errors."""
    return lambda page: page.get_by_role("button", name=button, exact=True).click()


# (path, what to do there first); the host profile's path is added once its id is known.
SIGNED_OUT = [
    ("/", None), ("/events/?q=lanterns", None), ("/events/?category=nope&sort=odd", None),
    ("/events/harbour-lights/", None), ("/events/quay-quartet/", None),
    ("/login/", submit_empty("Log in")), ("/register/", submit_empty("Create account")),
]  # fmt: skip
MEMBER_PAGES = [
    ("/me/bookings/", None), ("/bookings/LAYO-UT22/", None),
    ("/bookings/LAYO-UT22/cancel/", None), ("/events/harbour-lights/", None),
    ("/events/lantern-workshop/", submit_empty("Post review")),
    ("/account/", None), ("/account/delete/", None),
]  # fmt: skip
HOST_PAGES = [
    ("/host/", None), ("/host/events/new/", submit_empty("Save draft and preview")),
    ("/host/events/lantern-making/preview/", None),
    ("/host/events/harbour-lights/edit/", None),
    ("/host/events/harbour-lights/images/", submit_empty("Upload")),
    ("/host/events/harbour-lights/attendees/", None),
]  # fmt: skip


@pytest.fixture(scope="module")
def signed_in(browser, site) -> Iterator[Callable[[str | None], Page]]:
    """One page per person for the whole module (signing in once each). axe is injected as a
    script, which the site's Content Security Policy would refuse: these contexts bypass it
    (the other journeys keep it and fail on any refusal)."""
    contexts: dict[str | None, BrowserContext] = {}

    def page_for(email: str | None) -> Page:
        if email not in contexts:
            context = browser.new_context(base_url=site.url, bypass_csp=True)
            context.set_default_timeout(10_000)
            contexts[email] = context
            page = context.new_page()
            if email:
                log_in(page, email)
        return contexts[email].pages[0]

    yield page_for
    for context in contexts.values():
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("who", [None, MEMBER_EMAIL, HOST_EMAIL])
def test_axe_finds_no_serious_violation_on_the_main_pages(signed_in, site, who, width):
    pages = {None: SIGNED_OUT, MEMBER_EMAIL: MEMBER_PAGES, HOST_EMAIL: HOST_PAGES}[who]
    if who is None:
        pages = [*pages, (f"/hosts/{site.run(host_id)}/", None)]
    page = signed_in(who)
    page.set_viewport_size({"width": width, "height": 900})
    found = []
    for path, step in pages:
        page.goto(path)
        if step is not None:
            step(page)
            expect(page.locator(".error-summary")).to_be_focused()
        found += [f"{path}: {problem}" for problem in axe_problems(page)]
    assert found == [], "\n".join(found)


# The focused element's ring (its own outline, or its card's) and what lies behind it: the
# ancestors' backgrounds up to the first opaque colour or gradient.
RING = """element => {
  const holder = getComputedStyle(element).outlineStyle !== "none"
    ? element : element.closest(".card");
  const ring = getComputedStyle(holder);
  let behind = "rgb(255, 255, 255)";
  for (let node = holder.parentElement; node; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.backgroundImage.includes("gradient")) { behind = style.backgroundImage; break; }
    if (!/rgba\\(.*, 0\\)|transparent/.test(style.backgroundColor)) {
      behind = style.backgroundColor; break;
    }
  }
  return {style: ring.outlineStyle, width: parseFloat(ring.outlineWidth),
          color: ring.outlineColor, behind};
}"""
RGB = r"rgba?\(([\d.]+), ([\d.]+), ([\d.]+)"


def rgb(css_color: str) -> tuple[float, ...]:
    return tuple(float(n) for n in re.match(RGB, css_color).groups())


def seen_on(css_color: str, backdrop: tuple[float, ...]) -> tuple[float, ...]:
    """A colour as it shows over `backdrop`: a translucent one is blended with it."""
    alpha = re.match(r"rgba\(.*, ([\d.]+)\)", css_color)
    opacity = float(alpha.group(1)) if alpha else 1.0
    return tuple(
        opacity * c + (1 - opacity) * b for c, b in zip(rgb(css_color), backdrop, strict=True)
    )


def visible_colours(background: str) -> list[tuple[float, ...]]:
    """A colour, or a gradient's stops from 0 to 100 % (a stop past 100 % only tints the end:
    the colour there is interpolated)."""
    stops = [(rgb(m.group(0)), float(m.group(4))) for m in re.finditer(RGB + r"[^)]*\) ([\d.]+)%",
             background)]  # fmt: skip
    if not stops:
        return [rgb(background)]
    colours = [colour for colour, at in stops if at <= 100]
    for (before, at_before), (after, at) in itertools.pairwise(stops):
        if at_before < 100 < at:
            t = (100 - at_before) / (at - at_before)
            colours.append(tuple(b + t * (a - b) for b, a in zip(before, after, strict=True)))
    return colours


def luminance(colour: tuple[float, ...]) -> float:
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        for c in (channel / 255 for channel in colour)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: tuple[float, ...], other: tuple[float, ...]) -> float:
    light, dark = sorted([luminance(one), luminance(other)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


# Keyboard focus on a field, a link, a card and the footer on the page's background, a field and
# a button on the hero's gradient, the gallery (at phone width), links and a field on white.
FOCUSED = [
    ("/", ".header-search input"), ("/", ".hero input"), ("/", ".hero button"),
    ("/", "a.chip"), ("/", ".card-link"), ("/", ".site-footer a"),
    ("/events/harbour-lights/", ".gallery"), ("/events/harbour-lights/", ".event-facts a"),
    ("/events/harbour-lights/", ".copy-link input"),
]  # fmt: skip


def test_the_focus_ring_has_3_to_1_contrast_with_what_is_behind_it(signed_in):
    page = signed_in(None)
    page.set_viewport_size({"width": 390, "height": 900})
    weak = []
    for path, selector in FOCUSED:
        page.goto(path)
        page.keyboard.press("Tab")  # from here on, focus is keyboard focus (:focus-visible)
        element = page.locator(selector).first
        element.focus()
        ring = element.evaluate(RING)
        assert (ring["style"], ring["width"] >= 2) == ("solid", True), (selector, ring)
        behind = visible_colours(ring["behind"])
        ratios = [round(contrast(seen_on(ring["color"], c), c), 1) for c in behind]
        if min(ratios) < 3:
            weak.append(f"{path} {selector}: {ring['color']} on {ring['behind']}: {ratios}")
    assert weak == [], "\n".join(weak)


def test_on_a_phone_the_gallery_scrolls_from_the_keyboard(signed_in):
    page = signed_in(None)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/events/harbour-lights/")
    gallery = page.get_by_role("region", name="Photos")
    assert gallery.evaluate("g => g.scrollWidth > g.clientWidth")  # it does scroll here
    page.get_by_role("link", name=LONG_NAME).focus()  # the host, just before the gallery
    page.keyboard.press("Tab")
    expect(gallery).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.querySelector('.gallery').scrollLeft > 0")


def test_a_form_with_errors_opens_on_its_summary_whose_links_lead_to_the_fields(signed_in):
    page = signed_in(None)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/register/")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Create account").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(4)  # every field is wrong or empty
    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("not a valid email address"))
    summary.get_by_role("link", name=re.compile("^Email")).click()
    expect(email).to_be_focused()
