"""An administrator's takedown holds: a suspended event (`flask events suspend`) is off the site
until `flask events unsuspend`, whatever its host does; a deactivated host's events are off the
site with the account (bookings kept) and come back with it, except what was hidden or
suspended. Every visitor query reads the one rule, Event.is_listed."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from eventmate.bookings.services import BookingRefused, book_seats
from eventmate.caching import LISTINGS, event_token
from eventmate.extensions import cache, db
from eventmate.models import Booking, Event
from tests.conftest import csrf_token
from tests.factories import make_booking, make_event, make_member
from tests.test_bookings import booking_form
from tests.test_page_cache import purges, wait_for  # noqa: F401 (fixture)

REASON = "Misleading price: tickets are sold elsewhere."


def titles(response) -> list[str]:
    page = response.get_data(as_text=True)
    return re.findall(r'<h[23] class="card-title">(.*?)</h[23]>', page)  # h2 on search, h3 on home


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fresh(event: Event) -> Event:
    db.session.expire_all()
    return db.session.get(Event, event.id)


def bookings_of(event: Event) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Booking).where(Booking.event_id == event.id)
    )


def suspend(runner, event: Event, reason: str = REASON):
    result = runner.invoke(args=["events", "suspend", event.slug, "--reason", reason])
    assert result.exit_code == 0, result.output
    return result


def test_host_cannot_reactivate_a_suspended_event(client, runner, db_session, host):
    event = make_event(host=host, title="Harbour Jazz Night")
    db_session.commit()
    suspend(runner, event)
    token = csrf_token(client, "/host/")

    response = client.post(f"/host/events/{event.slug}/reactivate/", data={"csrf_token": token})

    assert response.status_code == 409
    page = text(response)
    assert "“Harbour Jazz Night” was suspended by an administrator: Misleading price" in page
    assert "until an administrator lifts the suspension" in page
    saved = fresh(event)
    assert saved.suspended_at is not None
    assert saved.suspension_reason == REASON
    assert not saved.is_listed
    assert client.get(f"/events/{event.slug}/").status_code == 404


def test_a_host_who_hid_a_suspended_event_still_cannot_list_it(client, runner, db_session, host):
    event = make_event(host=host)
    db_session.commit()
    suspend(runner, event)
    token = csrf_token(client, "/host/")
    hidden = client.post(f"/host/events/{event.slug}/deactivate/", data={"csrf_token": token})
    assert hidden.status_code == 303
    refused = client.post(f"/host/events/{event.slug}/reactivate/", data={"csrf_token": token})
    assert refused.status_code == 409
    saved = fresh(event)
    assert (saved.is_active, saved.suspension_reason) == (False, REASON)


def test_the_dashboard_explains_the_suspension(client, runner, db_session, host):
    event = make_event(host=host, title="Harbour Jazz Night")
    make_event(host=host, title="Quiet Poetry Evening")
    db_session.commit()
    suspend(runner, event)

    page = text(client.get("/host/"))

    assert f"Suspended by an administrator: {REASON}" in page
    row = re.search(r"<tr[^>]*>\s*<td>Harbour Jazz Night</td>.*?</tr>", page, re.S)
    assert row, "the suspended event is listed without a link to its (404) page"
    assert "/reactivate/" not in row.group(0)
    other = re.search(r"<tr[^>]*>\s*<td><a [^>]*>Quiet Poetry Evening</a></td>.*?</tr>", page, re.S)
    assert other, "the listed event links to its page"
    assert "Live" in other.group(0)


def test_editing_a_suspended_event_saves_but_does_not_list_it(client, runner, db_session, host):
    from tests.test_hosts import edit, event_data

    event = make_event(host=host)
    db_session.commit()
    suspend(runner, event)
    form_page = text(client.get(f"/host/events/{event.slug}/edit/"))
    assert "Suspended by an administrator: Misleading price: tickets are sold elsewhere." in (
        form_page
    )
    response = edit(client, event, event_data(event.city, title="Honest Jazz Night"))
    assert response.status_code == 303
    saved = fresh(event)
    assert (saved.title, saved.suspension_reason) == ("Honest Jazz Night", REASON)
    assert client.get(f"/events/{event.slug}/").status_code == 404


def test_a_suspended_event_is_off_every_visitor_page_and_cannot_be_booked(
    client, runner, db_session, login
):
    event = make_event(title="Harbour Jazz Night", capacity=10)
    make_event(title="Quiet Poetry Evening")
    make_booking(event, quantity=2)
    member = make_member()
    db_session.commit()
    login(member)
    form = booking_form(client, event)

    suspend(runner, event)

    assert titles(client.get("/events/")) == ["Quiet Poetry Evening"]
    assert titles(client.get("/events/?q=harbour")) == []
    assert "Harbour Jazz Night" not in text(client.get("/"))
    assert client.get(f"/events/{event.slug}/").status_code == 404
    assert client.get(f"/events/{event.slug}/calendar.ics").status_code == 404
    refused = client.post(f"/events/{event.slug}/book/", data={**form, "quantity": "1"})
    assert refused.status_code == 404
    assert "may have ended or been removed" in text(refused)
    saved = fresh(event)
    assert (saved.seats_booked, bookings_of(event)) == (2, 1)  # kept, none added


def test_a_booking_racing_the_suspension_is_refused(runner, db_session):
    event = make_event(capacity=10)
    member = make_member()
    db_session.commit()
    slug, event_id = event.slug, event.id
    loaded = db.session.get(Event, event_id)  # as the booking request read it, before
    suspend(runner, event)

    with pytest.raises(BookingRefused) as refused:
        book_seats(member, loaded, 1, "token-race")

    assert (refused.value.status, refused.value.message) == (
        404,
        "This event is no longer available.",
    )
    assert db.session.scalar(select(Event.seats_booked).where(Event.slug == slug)) == 0
    assert bookings_of(loaded) == 0


def test_unsuspend_lists_the_event_again(client, runner, db_session):
    event = make_event(title="Harbour Jazz Night")
    db_session.commit()
    suspend(runner, event)
    assert client.get(f"/events/{event.slug}/").status_code == 404

    result = runner.invoke(args=["events", "unsuspend", event.slug])

    assert result.exit_code == 0, result.output
    assert "is listed again" in result.output
    assert client.get(f"/events/{event.slug}/").status_code == 200
    assert titles(client.get("/events/")) == ["Harbour Jazz Night"]
    saved = fresh(event)
    assert (saved.suspended_at, saved.suspension_reason) == (None, "")


def test_suspending_refreshes_cached_pages_and_purges_the_edge(
    client,
    runner,
    db_session,
    purges,  # noqa: F811 (fixture)
):
    event = make_event()
    db_session.commit()
    keys = [LISTINGS, event_token(event.slug)]
    before = cache.get_many(*keys)

    suspend(runner, event)

    after = cache.get_many(*keys)
    assert all(old != new for old, new in zip(before, after, strict=True))
    assert ("events.example", f"/events/{event.slug}/", "gzip") in purges
    assert wait_for(lambda: len(purges) == 6)  # now and once more, three encodings


# --- a deactivated host -------------------------------------------------------------------


def test_a_deactivated_hosts_events_vanish_and_come_back_with_the_account(
    client, runner, db_session, login
):
    owner = make_member(is_host=True, email="owner@example.com")
    listed = make_event(host=owner, title="Harbour Jazz Night", capacity=10)
    hidden = make_event(host=owner, title="Hidden Rehearsal", is_active=False)
    suspended = make_event(host=owner, title="Taken Down Gig")
    make_event(title="Quiet Poetry Evening")
    make_booking(listed, quantity=3)
    member = make_member()
    db_session.commit()
    suspend(runner, suspended)
    login(member)
    form = booking_form(client, listed)

    result = runner.invoke(args=["users", "deactivate", "owner@example.com"])

    assert result.exit_code == 0, result.output
    assert "3 hosted event(s) are off the site (bookings kept)" in result.output
    assert titles(client.get("/events/")) == ["Quiet Poetry Evening"]
    assert titles(client.get("/events/?q=harbour")) == []
    assert "Harbour Jazz Night" not in text(client.get("/"))
    assert client.get(f"/events/{listed.slug}/").status_code == 404
    booked = client.post(f"/events/{listed.slug}/book/", data={**form, "quantity": "1"})
    assert booked.status_code == 404
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Event)) == 4  # rows kept
    assert bookings_of(listed) == 1
    assert db.session.get(Event, listed.id).seats_booked == 3

    result = runner.invoke(args=["users", "reactivate", "owner@example.com"])

    assert result.exit_code == 0, result.output
    assert sorted(titles(client.get("/events/"))) == ["Harbour Jazz Night", "Quiet Poetry Evening"]
    assert client.get(f"/events/{listed.slug}/").status_code == 200
    assert client.get(f"/events/{hidden.slug}/").status_code == 404  # the host's choice
    assert client.get(f"/events/{suspended.slug}/").status_code == 404  # the admin's
    assert fresh(suspended).suspension_reason == REASON
