"""A new event is a draft: off the site for everyone but its host, who previews it as visitors
will see it, then publishes it (eventmate/hosts/drafts_routes.py, Event.is_listed)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventmate.bookings.services import BookingRefused, book_seats
from eventmate.caching import LISTINGS, event_token
from eventmate.extensions import db
from eventmate.hosts.services import suspend
from eventmate.models import Event
from tests.conftest import csrf_token, page_text
from tests.factories import make_event, make_member, now
from tests.test_cache_invalidation import moved, tokens
from tests.test_hosts import create, edit, event_data
from tests.test_page_cache import recorded_purges, wait_for

TITLE = "Secret Rooftop Cinema"


def saved(event: Event) -> Event:
    db.session.expire_all()
    return db.session.get(Event, event.id)


def log_out(client) -> None:
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/me/bookings/")})


def publish(client, event: Event, token: str | None = None):
    token = token or csrf_token(client, "/host/")
    return client.post(f"/host/events/{event.slug}/publish/", data={"csrf_token": token})


@pytest.fixture
def draft(db_session, host, lisbon):
    """The signed-in host's draft, in Lisbon, a week ahead, beside a published event there."""
    made = make_event(title=TITLE, host=host, city=lisbon, category="arts", published_at=None)
    make_event(title="Harbour Jazz Night", city=lisbon, category="arts")
    db_session.commit()
    return made


def test_creating_an_event_saves_a_draft_and_shows_its_host_the_preview(
    client, db_session, host, lisbon
):
    response = create(client, event_data(lisbon, title=TITLE))
    assert response.status_code == 303
    event = db.session.scalar(select(Event).where(Event.title == TITLE))
    assert response.headers["Location"] == f"/host/events/{event.slug}/preview/"
    assert (event.published_at, event.is_listed) == (None, False)

    preview = client.get(response.headers["Location"])
    assert preview.status_code == 200
    assert preview.headers["Cache-Control"] == "private, no-store"
    page = page_text(preview)
    assert "Your draft is saved." in page  # the flash
    assert "Draft — only you can see this" in page
    assert '<meta name="robots" content="noindex">' in page
    assert f"<h1>{TITLE}</h1>" in page  # the event page itself
    assert "Clube de Fado" in page
    assert f'href="/host/events/{event.slug}/edit/">Edit</a>' in page
    publish_form = re.search(
        rf'<form class="inline-form" method="post" action="/host/events/{event.slug}/publish/">'
        r'\s*<input type="hidden" name="csrf_token" value="[^"]+">'
        r'\s*<button type="submit" class="button-primary button-inline">Publish</button>',
        page,
    )
    assert publish_form is not None
    # Nobody can book a draft: no booking form, no review form.
    assert "Booking opens here when you publish the event." in page
    assert f"/events/{event.slug}/book/" not in page
    assert "personal:" not in page  # every personal marker filled or left out


def test_a_draft_is_in_no_listing_search_sitemap_or_profile(client, db_session, draft):
    pages = {
        "home": "/",
        "search": "/events/",
        "text search": "/events/?q=rooftop",
        "city": "/cities/lisbon/",
        "category": "/categories/arts/",
        "host profile": f"/hosts/{draft.host_id}/",
        "sitemap": "/sitemaps/events-1.xml",
    }
    log_out(client)
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        text = page_text(response)
        assert TITLE not in text, name
        assert draft.slug not in text, name
    assert "Harbour Jazz Night" in page_text(client.get("/cities/lisbon/"))  # the other is


def test_a_drafts_page_is_a_404_for_everyone_but_its_host(client, db_session, login, draft):
    host_view = client.get(f"/events/{draft.slug}/")
    assert host_view.status_code == 302
    assert host_view.headers["Location"] == f"/host/events/{draft.slug}/preview/"
    assert host_view.headers["Cache-Control"] == "private, no-store"
    calendar = f"/events/{draft.slug}/calendar.ics"
    assert client.get(calendar).status_code == 404

    log_out(client)
    anonymous = client.get(f"/events/{draft.slug}/")
    assert anonymous.status_code == 404
    assert "Page not found" in page_text(anonymous)
    assert "public" not in anonymous.headers.get("Cache-Control", "")
    assert client.get(calendar).status_code == 404

    for visitor, preview in ((make_member(), 403), (make_member(is_host=True), 404)):
        db_session.commit()
        login(visitor)
        assert client.get(f"/events/{draft.slug}/").status_code == 404
        assert client.get(f"/host/events/{draft.slug}/preview/").status_code == preview
        log_out(client)


def test_a_draft_cannot_be_booked(client, db_session, login, draft):
    member = make_member()
    db_session.commit()
    with pytest.raises(BookingRefused) as refused:
        book_seats(member, draft, 1, "draft-token")
    assert refused.value.status == 404
    log_out(client)
    login(member)
    token = csrf_token(client, "/me/bookings/")
    response = client.post(f"/events/{draft.slug}/book/",
                           data={"csrf_token": token, "quantity": "1"})  # fmt: skip
    assert response.status_code == 404
    joined = client.post(f"/events/{draft.slug}/waitlist/",
                         data={"csrf_token": token, "quantity": "1"})  # fmt: skip
    assert joined.status_code == 404
    assert saved(draft).seats_booked == 0


def test_a_sold_out_events_suggestions_leave_drafts_out(client, db_session, draft):
    full = make_event(title="Full House", city=draft.city, category="arts", capacity=5,
                      seats_booked=5)  # fmt: skip
    db_session.commit()
    page = page_text(client.get(f"/events/{full.slug}/"))
    assert "Harbour Jazz Night" in page  # suggested: same city, seats left
    assert TITLE not in page


@pytest.fixture
def purges(app, monkeypatch):
    with recorded_purges(app, monkeypatch) as recorded:
        yield recorded


def test_publishing_lists_the_event_and_purges_its_page(client, db_session, draft, purges):
    before = tokens(draft.slug)
    response = publish(client, draft)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{draft.slug}/"
    assert saved(draft).published_at is not None
    assert moved(before, tokens(draft.slug)) == {LISTINGS, event_token(draft.slug)}
    path = f"/events/{draft.slug}/"
    assert ("localhost", path, "") in purges
    assert wait_for(lambda: len(purges) == 6)  # and once more, as for every change

    page = page_text(client.get(path))
    assert "is published: it is on the site now." in page
    assert "Draft — only you can see this" not in page
    # Published, the preview is the event's own page.
    preview = client.get(f"/host/events/{draft.slug}/preview/")
    assert (preview.status_code, preview.headers["Location"]) == (303, path)
    log_out(client)
    assert client.get(path).status_code == 200
    assert TITLE in page_text(client.get("/events/?q=rooftop"))
    assert draft.slug in client.get("/sitemaps/events-1.xml").get_data(as_text=True)


def test_publishing_needs_the_forms_token(client, db_session, draft):
    response = client.post(f"/host/events/{draft.slug}/publish/")
    assert response.status_code == 400
    assert saved(draft).published_at is None


def test_publishing_again_changes_nothing(client, db_session, draft):
    assert publish(client, draft).status_code == 303
    first = saved(draft).published_at
    again = publish(client, draft)
    assert again.status_code == 303
    assert again.headers["Location"] == f"/events/{draft.slug}/"
    assert saved(draft).published_at == first


def test_a_hidden_draft_once_published_stays_hidden(client, db_session, draft):
    draft.is_active = False
    db_session.commit()
    response = publish(client, draft)
    assert response.status_code == 303
    assert response.headers["Location"] == "/host/"
    assert "is published, but hidden" in page_text(client.get("/host/"))
    assert (saved(draft).published_at is not None, saved(draft).is_listed) == (True, False)


def test_a_cancelled_suspended_or_started_draft_is_not_published(client, db_session, draft, clock):
    suspend(draft, "Fake venue.")
    refused = publish(client, draft)
    assert refused.status_code == 409
    assert "suspended by an administrator: Fake venue." in page_text(refused)

    draft = saved(draft)
    draft.suspended_at, draft.suspension_reason = None, ""
    draft.starts_at, draft.ends_at = now() + timedelta(hours=1), now() + timedelta(hours=3)
    db_session.commit()
    clock(draft.starts_at + timedelta(minutes=1))  # (the host's session lasts a day)
    refused = publish(client, draft)
    assert refused.status_code == 409
    assert "Its start time has passed" in page_text(refused)

    clock(draft.starts_at - timedelta(minutes=30))  # before it starts again
    draft = saved(draft)
    draft.cancelled_at, draft.is_active = now(), False
    db_session.commit()
    refused = publish(client, draft)
    assert refused.status_code == 409
    assert "It was cancelled, for good" in page_text(refused)
    assert saved(draft).published_at is None


def test_the_dashboard_marks_drafts_and_offers_preview_and_publish(client, db_session, draft):
    make_event(title="Live Show", host=draft.host, city=draft.city)
    db_session.commit()
    page = page_text(client.get("/host/"))
    row = page.split(TITLE)[0].rsplit("<tr", 1)[1] + page.split(TITLE)[1].split("</tr>")[0]
    assert f'href="/host/events/{draft.slug}/preview/"' in row
    assert "<td>Draft</td>" in row
    assert f'action="/host/events/{draft.slug}/publish/"' in row
    assert "Deactivate" not in row
    live = page.split("Live Show")[1].split("</tr>")[0]
    assert "<td>Live</td>" in live
    assert "Publish" not in live


def test_editing_keeps_a_draft_a_draft_and_a_published_event_published(
    client, db_session, draft, lisbon
):
    data = event_data(lisbon, title="Rooftop Cinema: Double Bill")
    assert edit(client, draft, data).status_code == 303
    assert saved(draft).published_at is None
    assert publish(client, draft).status_code == 303
    published_at = saved(draft).published_at
    assert edit(client, draft, {**data, "title": "Rooftop Cinema"}).status_code == 303
    assert (saved(draft).title, saved(draft).published_at) == ("Rooftop Cinema", published_at)
    assert client.get(f"/events/{draft.slug}/").status_code == 200
