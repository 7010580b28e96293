import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.models import Booking, Event
from tests.conftest import csrf_token
from tests.factories import make_booking, make_event, make_member, now


def booking_form(client, event) -> dict:
    """The hidden fields of the booking form on the event page."""
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    fields = dict(
        re.findall(r'name="(csrf_token|request_token)" type="hidden" value="([^"]+)"', page)
    )
    assert set(fields) == {"csrf_token", "request_token"}, "no booking form on the page"
    return fields


def book(client, event, quantity="2", form=None):
    data = {**(form or booking_form(client, event)), "quantity": quantity}
    return client.post(f"/events/{event.slug}/book/", data=data)


def seats_booked(event) -> int:
    return db.session.scalar(select(Event.seats_booked).where(Event.id == event.id))


def booking_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Booking))


@pytest.fixture
def member(db_session, login):
    user = make_member(display_name="Booker")
    db_session.commit()
    login(user)
    return user


def test_member_books_seats_and_sees_the_confirmation(client, db_session, member):
    event = make_event(title="Choir Concert", capacity=20, max_per_booking=6)
    db_session.commit()

    response = book(client, event, "2")

    assert response.status_code == 303
    reference = response.headers["Location"].split("/")[-2]
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", reference)
    booking = db.session.scalar(select(Booking))
    assert (booking.user_id, booking.quantity, booking.status) == (member.id, 2, "confirmed")
    assert seats_booked(event) == 2
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert reference in page
    assert "You're going to Choir Concert" in page
    assert "You're booked!" in page


def test_double_submitting_the_same_form_books_once(client, db_session, member):
    event = make_event(capacity=20)
    db_session.commit()
    form = booking_form(client, event)

    first = book(client, event, "3", form=form)
    second = book(client, event, "3", form=form)

    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert booking_count() == 1
    assert seats_booked(event) == 3


@pytest.mark.parametrize("quantity", ["0", "-1", "999", "abc", "", "2.5", "１"])
def test_bad_quantities_are_refused_and_nothing_is_written(client, db_session, member, quantity):
    event = make_event(capacity=2000, max_per_booking=10)
    db_session.commit()
    response = book(client, event, quantity)
    assert response.status_code == 400
    assert "Nothing was booked" in response.get_data(as_text=True)
    assert booking_count() == 0
    assert seats_booked(event) == 0


def test_more_seats_than_left_is_a_clear_409(client, db_session, member):
    event = make_event(capacity=5)
    make_booking(event, quantity=4)
    db_session.commit()
    response = book(client, event, "2")
    assert response.status_code == 409
    assert "Only 1 seat is left" in response.get_data(as_text=True)
    assert booking_count() == 1
    assert seats_booked(event) == 4


def test_sold_out_event_refuses_a_booking(client, db_session, member):
    event = make_event(capacity=3)
    form = booking_form(client, event)
    make_booking(event, quantity=3)
    db_session.commit()
    response = book(client, event, "1", form=form)
    assert response.status_code == 409
    assert "sold out" in response.get_data(as_text=True)
    assert seats_booked(event) == 3


def test_past_event_cannot_be_booked(client, db_session, member):
    event = make_event(starts_at=now() + timedelta(days=1))
    form = booking_form(client, event)
    event.starts_at = now() - timedelta(minutes=5)
    event.ends_at = now() + timedelta(hours=1)
    db_session.commit()
    response = book(client, event, "1", form=form)
    assert response.status_code == 409
    assert "already started" in response.get_data(as_text=True)
    assert booking_count() == 0


def test_inactive_event_is_404(client, db_session, member):
    event = make_event()
    form = booking_form(client, event)
    event.is_active = False
    db_session.commit()
    assert book(client, event, "1", form=form).status_code == 404
    assert booking_count() == 0


def test_anonymous_booking_goes_to_login_and_back_to_the_event(client, db_session):
    event = make_event()
    db_session.commit()
    token = csrf_token(client, "/login/")
    response = client.post(
        f"/events/{event.slug}/book/", data={"csrf_token": token, "quantity": "1"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login/?next=/events/{event.slug}/"
    assert booking_count() == 0


def test_my_bookings_lists_upcoming_and_past(client, db_session, member):
    soon = make_event(title="Soon Show", starts_at=now() + timedelta(days=2))
    later = make_event(title="Later Show", starts_at=now() + timedelta(days=9))
    done = make_event(title="Done Show", starts_at=now() - timedelta(days=3))
    for event in (later, soon, done):
        make_booking(event, user=member)
    make_booking(make_event(title="Someone Else's Show"))
    db_session.commit()

    page = client.get("/me/bookings/").get_data(as_text=True)

    upcoming, past = page.split('id="past-heading"')
    assert upcoming.index("Soon Show") < upcoming.index("Later Show")
    assert "Done Show" in past
    assert "Someone Else" not in page


def test_my_bookings_shows_each_list_a_page_at_a_time(app, client, db_session, member, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKINGS_PER_PAGE", 3)
    for day in range(1, 8):  # 7 upcoming: pages of 3, 3, 1
        make_booking(make_event(title=f"Show {day:02d}", starts_at=now() + timedelta(days=day)),
                     user=member)  # fmt: skip
    for day in range(1, 5):  # 4 past: pages of 3, 1
        make_booking(make_event(title=f"Gone {day:02d}", starts_at=now() - timedelta(days=day)),
                     user=member)  # fmt: skip
    db_session.commit()

    def shown(url):
        page = html.unescape(client.get(url).get_data(as_text=True))
        upcoming, past = page.split('id="past-heading"')
        return re.findall(r"Show \d+", upcoming), re.findall(r"Gone \d+", past), page

    upcoming, past, page = shown("/me/bookings/")
    assert upcoming == ["Show 01", "Show 02", "Show 03"]  # soonest first
    assert past == ["Gone 01", "Gone 02", "Gone 03"]  # most recent first
    assert 'href="/me/bookings/?upcoming=2"' in page
    assert 'href="/me/bookings/?past=2"' in page

    upcoming, past, page = shown("/me/bookings/?upcoming=3&past=2")
    assert (upcoming, past) == (["Show 07"], ["Gone 04"])
    assert 'href="/me/bookings/?upcoming=2&past=2"' in page  # the other list stays put

    upcoming, past, _ = shown("/me/bookings/?upcoming=99&past=nonsense")
    assert (upcoming, past) == (["Show 07"], ["Gone 01", "Gone 02", "Gone 03"])


def test_my_bookings_needs_login(client, db_session):
    response = client.get("/me/bookings/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/?next=")


def test_another_users_booking_is_404(client, db_session, member):
    theirs = make_booking(make_event(), reference="THEI-RS22")
    db_session.commit()
    assert client.get(f"/bookings/{theirs.reference}/").status_code == 404
    token = csrf_token(client, "/me/bookings/")
    response = client.post(f"/bookings/{theirs.reference}/cancel/", data={"csrf_token": token})
    assert response.status_code == 404
    assert db.session.get(Booking, theirs.id).status == "confirmed"


def cancel(client, booking):
    """Cancels every seat, from the booking's cancel page (its form's defaults)."""
    page = client.get(f"/bookings/{booking.reference}/cancel/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(f"/bookings/{booking.reference}/cancel/", data={"csrf_token": token})


def test_cancelling_returns_the_seats(client, db_session, member):
    event = make_event(capacity=10)
    booking = make_booking(event, user=member, quantity=4, reference="CANC-EL22")
    db_session.commit()

    response = cancel(client, booking)

    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"
    assert db.session.get(Booking, booking.id).cancelled_at is not None
    assert seats_booked(event) == 0
    assert "is cancelled" in client.get("/me/bookings/").get_data(as_text=True)


def test_cancelling_twice_gives_the_seats_back_once(client, db_session, member):
    event = make_event(capacity=10)
    make_booking(event, quantity=3)
    booking = make_booking(event, user=member, quantity=2, reference="TWIC-E222")
    db_session.commit()
    page = client.get(f"/bookings/{booking.reference}/cancel/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    url = f"/bookings/{booking.reference}/cancel/"
    first = client.post(url, data={"csrf_token": token})
    assert first.status_code == 303
    assert first.headers["Location"] == "/me/bookings/"
    assert "TWIC-E222 is cancelled" in client.get("/me/bookings/").get_data(as_text=True)
    second = client.post(url, data={"csrf_token": token})
    assert second.status_code == 303
    assert second.headers["Location"] == f"/bookings/{booking.reference}/"
    assert "This booking is already cancelled." in client.get(second.headers["Location"]).get_data(
        as_text=True
    )
    assert seats_booked(event) == 3


def test_a_started_event_cannot_be_cancelled(client, db_session, member):
    event = make_event(starts_at=now() + timedelta(days=1))
    booking = make_booking(event, user=member, quantity=2, reference="LATE-2222")
    db_session.commit()
    page = client.get(f"/bookings/{booking.reference}/cancel/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    event.starts_at = now() - timedelta(minutes=1)
    db_session.commit()
    refused = client.post(f"/bookings/{booking.reference}/cancel/", data={"csrf_token": token})
    assert refused.status_code == 303
    assert refused.headers["Location"] == f"/bookings/{booking.reference}/"
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "This event has started, so the booking can no longer be cancelled." in page
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "confirmed"
    assert seats_booked(event) == 2


# After loading the member: My bookings, both lists' counts, a page of each and the member's
# ratings of the past page's events (to invite a review); a booking, the booking with its event.
# The member's bookings just changed, so with the user cache on (PostgreSQL pass) the member is
# loaded afresh: the row and their booked events (eventmate/auth/user_cache.py), one more.
PAGE_BUDGETS = {"/me/bookings/": 6, "/bookings/BUDG-ET22/": 3}


@pytest.mark.parametrize("url", list(PAGE_BUDGETS))
@pytest.mark.parametrize("rows", [1, 30])
def test_booking_pages_query_budget(client, db_session, member, count_queries, url, rows):
    for n in range(rows):
        make_booking(
            make_event(), user=member, reference="BUDG-ET22" if n == 0 else f"BUDG-X{n:03d}"
        )
    db_session.commit()
    make_booking(make_event(starts_at=now() - timedelta(days=1)), user=member)  # a past one
    db_session.commit()
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    assert counter.count <= PAGE_BUDGETS[url], "\n".join(counter.statements)


# The event, the repeat-submission check, the seats, the member's other seats for it (the
# per-member limit), the booking row, its confirmation in the outbox: nothing read back after
# the commit (the redirect needs only the reference, the page cache only the slug). The email
# is sent by a worker.
BOOKING_BUDGET = 6
# The booking with its event, the event's row locked (the lock order every change of seats
# follows), the booking's status, the seats, the member's address, the cancellation email in
# the outbox, the waitlist's line (whom the freed seats are offered to).
CANCEL_BUDGET = 7


def test_booking_stays_within_its_query_budget(
    client, db_session, member, count_queries, queued_not_sent
):
    event = make_event(capacity=10)
    db_session.commit()
    form = booking_form(client, event)

    with count_queries() as counter:
        response = book(client, event, "2", form)

    assert response.status_code == 303
    assert counter.count <= BOOKING_BUDGET, "\n\n".join(counter.statements)


def test_cancelling_stays_within_its_query_budget(
    client, db_session, member, count_queries, queued_not_sent
):
    booking = make_booking(make_event(capacity=10), user=member, quantity=2, reference="BUDG-CA22")
    db_session.commit()
    page = client.get(f"/bookings/{booking.reference}/cancel/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    with count_queries() as counter:
        response = client.post(f"/bookings/{booking.reference}/cancel/", data={"csrf_token": token})

    assert response.status_code == 303
    assert counter.count <= CANCEL_BUDGET, "\n\n".join(counter.statements)


def queued_tasks(celery) -> int:
    with celery.connection_for_read() as connection:
        queue = connection.SimpleQueue(celery.conf.task_default_queue)
        try:
            return queue.qsize()
        finally:
            queue.close()


def test_the_confirmation_is_handed_to_the_workers_once_the_answer_is_sent(
    client, db_session, member, queued_not_sent
):
    event = make_event(capacity=10)
    db_session.commit()
    before = queued_tasks(queued_not_sent)
    response = book(client, event, "1")
    assert response.status_code == 303
    assert queued_tasks(queued_not_sent) == before  # the member's answer didn't wait for it
    response.close()  # as the server does once the response is sent
    assert queued_tasks(queued_not_sent) == before + 1
