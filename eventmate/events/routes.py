"""Visitor pages: search, city and category landing pages, and the event page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from eventmate.auth import user_cache
from eventmate.bookings.forms import BookingForm
from eventmate.bookings.queries import MemberSeats, latest_booking_for_event, member_seats
from eventmate.bookings.services import new_request_token
from eventmate.events import bp, links, queries, search_queries
from eventmate.events.filters import SORTS, WHEN_CHOICES, parse_search_args
from eventmate.models import CATEGORIES, CATEGORY_BY_SLUG
from eventmate.pagecache.canonical import canonical_redirect, canonical_url, not_canonical
from eventmate.pagecache.pages import SharedPage, shared_page
from eventmate.pagination import page_count, page_number
from eventmate.replica.routing import reads_from_replica
from eventmate.reviews.forms import DeleteReviewForm, ReviewForm
from eventmate.reviews.services import review_standing
from eventmate.waitlist.personal import waitlist_context

SIMILAR_SHOWN = 4


@bp.get("/events/")
@reads_from_replica
@shared_page()
def search():
    return _render_search(request.args)


@bp.get("/cities/<slug:slug>/")
@reads_from_replica
@shared_page()
def city(slug: str):
    cities = queries.cities_by_slug()
    if slug not in cities:
        abort(404)
    return _render_search(_with_fixed(request.args, city=slug), landing_city=cities[slug])


@bp.get("/categories/<slug:slug>/")
@reads_from_replica
@shared_page()
def category(slug: str):
    if slug not in CATEGORY_BY_SLUG:
        abort(404)
    return _render_search(
        _with_fixed(request.args, category=slug), landing_category=CATEGORY_BY_SLUG[slug]
    )


@dataclass(frozen=True)
class EventFacts:
    """What an event page's personal parts (the booking form, the member's own review) read."""

    id: int
    slug: str
    starts_at: datetime
    max_per_booking: int
    seats_left: int
    # Defaults: facts cached by an older release lack them (held seats: eventmate/waitlist).
    seats_held: int = 0
    timezone: str = "UTC"
    ends_at: datetime | None = None  # reviews open then (None: at the start, as before)
    price: Decimal | None = None  # for the totals in the seat choices (None: not shown)
    currency: str = "EUR"


def _personal_context(facts: EventFacts) -> dict:
    return {
        "event_facts": facts,
        "event_slug": facts.slug,
        "booking_form": _booking_form(),
        "your_seats": _your_seats(facts),
        **waitlist_context(facts),
        **_review_context(facts),
    }


@bp.get("/events/<slug:slug>/")
@reads_from_replica
@shared_page(parts=("booking", "your_review"), context=_personal_context)
def detail(slug: str):
    found = queries.event_page(slug)
    if found is None:
        return _off_the_site(slug)
    event, rating = found
    per_page = current_app.config["REVIEWS_PER_PAGE"]
    review_pages = page_count(rating.count, per_page)
    review_page = min(page_number(request.args.get("reviews")), review_pages)
    elsewhere = canonical_redirect({"reviews": str(review_page)} if review_page > 1 else {})
    if elsewhere is not None:
        return elsewhere
    reviews = queries.reviews_page(event.id, review_page, per_page) if rating.count else []
    now = datetime.now(UTC)
    # A sold-out page is not a dead end (its waitlist aside): events like it with seats left.
    sold_out = event.is_sold_out and now < event.starts_at
    similar = queries.similar_events(event, now, SIMILAR_SHOWN) if sold_out else []
    html = render_event_page(
        "events/detail.html",
        event,
        rating,
        now,
        similar=similar,
        reviews=reviews,
        review_page=review_page,
        review_pages=review_pages,
        review_page_url=lambda n: canonical_url({"reviews": str(n)} if n > 1 else {}),
    )
    facts = EventFacts(
        event.id, event.slug, event.starts_at, event.max_per_booking, event.seats_left,
        event.seats_held, event.city.timezone, event.ends_at, event.price, event.currency,
    )  # fmt: skip
    # The page changes by itself when the event starts (no more booking) and when it ends
    # (reviews open): no cached copy outlives either.
    changes_at = event.starts_at if now < event.starts_at else event.ends_at
    return SharedPage(html, facts, changes_at=changes_at)


def render_event_page(template: str, event, rating, now: datetime, **context) -> str:
    """An event's page: for visitors (events/detail.html) and, for a draft, its host's preview
    (hosts/preview.html), which shows it as visitors will see it once published."""
    page_url = url_for("events.detail", slug=event.slug, _external=True)
    defaults = {"similar": [], "reviews": [], "review_page": 1, "review_pages": 1}
    return render_template(
        template,
        page_url=page_url,
        map_url=links.map_url(event),
        calendar_links=links.calendar_links(event, page_url),
        share_links=links.share_links(event.title, page_url),
        rating=rating,
        now=now,
        event=event,
        **{**defaults, **context},
    )


def _off_the_site(slug: str):
    """No such listed event: a bare 404, except for its host while it is a draft (sent to
    their preview), and for a member who booked it, who is told where their booking stands
    (the event called off, or taken off the site for now)."""
    booking = None
    if current_user.is_authenticated:
        if queries.own_draft(slug, current_user.id) is not None:
            # Stored by no cache: only a SharedPage is (pagecache/pages.py), a 200 at the edge.
            return redirect(url_for("hosts.preview", slug=slug))
        booking = latest_booking_for_event(slug, current_user.id)
    if booking is None or booking.event.is_listed:
        abort(404)
    return render_template("events/off_the_site.html", booking=booking), 404


def _review_context(facts: EventFacts) -> dict:
    """The member's own review and the forms to write, edit or delete it, when allowed."""
    if not current_user.is_authenticated:
        return {"review_standing": None}
    standing = review_standing(current_user, facts)
    own = standing.own_review
    review_form = ReviewForm(
        formdata=None, rating=str(own.rating) if own else None, body=own.body if own else ""
    )
    return {
        "review_standing": standing,
        "own_review": own,
        "review_form": review_form,
        "delete_review_form": DeleteReviewForm(),
    }


def _your_seats(facts: EventFacts) -> MemberSeats | None:
    """The member's seats for this event while it is still to come."""
    if not current_user.is_authenticated or facts.starts_at <= datetime.now(UTC):
        return None
    if user_cache.has_not_booked(current_user.id, facts.id):
        return MemberSeats()
    return member_seats(current_user.id, facts.id)


def _booking_form() -> BookingForm | None:
    """A fresh one-time token per render, so a double submit books once (members only)."""
    if not current_user.is_authenticated:
        return None
    return BookingForm(request_token=new_request_token(), formdata=None)


def _with_fixed(args: MultiDict, **fixed: str) -> MultiDict:
    """Landing pages fix one filter from the path, whatever the query string says."""
    merged = MultiDict(args)
    for key, value in fixed.items():
        merged[key] = value
    return merged


def _render_search(args: MultiDict, landing_city=None, landing_category=None):
    config = current_app.config
    now = datetime.now(UTC)
    cities = queries.cities_by_slug()
    filters = _parse_filters(args, cities, now, config["SEARCH_QUERY_MAX_LENGTH"])
    fixed = {"city"} if landing_city else {"category"} if landing_category else set()

    def params(**overrides) -> dict[str, str]:
        """The query parameters of this page's URL (fixed path filters left out)."""
        return {k: v for k, v in filters.params(**overrides).items() if k not in fixed}

    elsewhere = canonical_redirect(params(), invalid=bool(filters.notices))
    if elsewhere is not None:
        return elsewhere

    def search_url(**overrides) -> str:
        return canonical_url(params(**overrides))

    asked_for = filters.page
    results = search_queries.search_events(
        filters, now, config["EVENTS_PER_PAGE"], config["AGGREGATE_CACHE_SECONDS"]
    )
    if results.page != asked_for:  # past the last page: the last is shown, never stored
        not_canonical()

    html = render_template(
        "events/search.html",
        search_url=search_url,
        page_url=lambda number: search_url(page=number),
        filters=filters,
        results=results,
        city_options=queries.city_options,
        categories=CATEGORIES,
        sorts=SORTS,
        when_choices=WHEN_CHOICES,
        landing_city=landing_city,
        landing_category=landing_category,
    )
    return SharedPage(html)


def _parse_filters(args, cities, now, max_length):
    # "Today" depends on where: the chosen city's calendar day, or UTC's.
    city = cities.get(args.get("city", "").strip().lower())
    today = now.astimezone(city.zone).date() if city else now.date()
    return parse_search_args(args, cities, today, max_length)
