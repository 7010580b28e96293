import csv
import html
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from eventmate.extensions import db
from eventmate.hosts.services import suspend
from eventmate.models import Event, EventImage
from tests.conftest import csrf_token, page_text
from tests.factories import (
    make_booking,
    make_event,
    make_image,
    make_member,
    make_user,
    now,
)

HOST_ROUTES = [
    ("GET", "/host/"),
    ("GET", "/host/events/new/"),
    ("POST", "/host/events/new/"),
    ("GET", "/host/events/{slug}/edit/"),
    ("POST", "/host/events/{slug}/edit/"),
    ("GET", "/host/events/{slug}/preview/"),
    ("POST", "/host/events/{slug}/publish/"),
    ("GET", "/host/events/{slug}/deactivate/"),
    ("POST", "/host/events/{slug}/deactivate/"),
    ("POST", "/host/events/{slug}/reactivate/"),
    ("GET", "/host/events/{slug}/cancel/"),
    ("POST", "/host/events/{slug}/cancel/"),
    ("GET", "/host/events/{slug}/attendees/"),
    ("GET", "/host/events/{slug}/attendees.csv"),
    ("GET", "/host/events/{slug}/images/"),
    ("POST", "/host/events/{slug}/images/"),
    ("POST", "/host/events/{slug}/images/1/delete/"),
    ("POST", "/host/events/{slug}/images/1/move/"),
]
EVENT_ROUTES = [route for route in HOST_ROUTES if "{slug}" in route[1]]


def test_every_host_route_is_in_the_matrix(app):
    listed = {path.replace("{slug}", "<slug:slug>").replace("/1/", "/<int:image_id>/")
              for _, path in HOST_ROUTES}  # fmt: skip
    actual = {rule.rule for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/host/") and rule.endpoint != "hosts.become"}  # fmt: skip
    # (/host/become/ is for members who are not hosts yet: tests/test_becoming_a_host.py.)
    assert actual == listed


def request(client, method, path, token=None):
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": token or csrf_token(client, "/me/bookings/")})


@pytest.mark.parametrize(("method", "path"), HOST_ROUTES)
def test_anonymous_visitors_are_sent_to_login(client, db_session, method, path):
    event = make_event()
    db_session.commit()
    token = csrf_token(client, "/login/")
    response = request(client, method, path.format(slug=event.slug), token)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


@pytest.mark.parametrize(("method", "path"), HOST_ROUTES)
def test_plain_members_get_403(client, db_session, login, method, path):
    event = make_event()
    member = make_member(is_host=False)
    db_session.commit()
    login(member)
    assert request(client, method, path.format(slug=event.slug)).status_code == 403


@pytest.mark.parametrize(("method", "path"), EVENT_ROUTES)
def test_other_hosts_get_404(client, db_session, login, method, path):
    event = make_event()
    other_host = make_member(is_host=True)
    db_session.commit()
    login(other_host)
    assert request(client, method, path.format(slug=event.slug)).status_code == 404


@pytest.fixture
def admin_and_gig(db_session, login):
    """An admin (not the host) logged in, and another host's event with a booking and images."""
    owner = make_member(is_host=True, display_name="Owner")
    event = make_event(title="Someone's Gig", host=owner)
    make_booking(event, user=make_user(display_name="Ann"), quantity=2, reference="ADMN-0001")
    first = make_image(event, position=0, alt_text="First picture")
    second = make_image(event, position=1, alt_text="Second picture")
    admin = make_member(is_admin=True, display_name="Boss")
    db_session.commit()
    login(admin)
    return admin, owner, event, (first, second)


def admin_token(client) -> str:
    return csrf_token(client, "/host/events/new/")


def saved_event(event) -> Event:
    db.session.expire_all()
    return db.session.get(Event, event.id)


def image_alts(event) -> list[str]:
    return list(db.session.scalars(
        select(EventImage.alt_text).where(EventImage.event_id == event.id)
        .order_by(EventImage.position)
    ))  # fmt: skip


def admin_dashboard(client, admin, owner, event, images):
    response = client.get("/host/")
    assert response.status_code == 200
    page = page_text(response)
    assert "Your events" in page
    assert "You haven't listed any events yet." in page  # the admin's own, not everyone's
    assert "Someone's Gig" not in page


def admin_new_form(client, admin, owner, event, images):
    response = client.get("/host/events/new/")
    assert response.status_code == 200
    assert "List a new event" in page_text(response)


def admin_creates(client, admin, owner, event, images):
    response = create(client, event_data(event.city, title="Admin's Own Gig"))
    assert response.status_code == 303
    made = db.session.scalar(select(Event).where(Event.title == "Admin's Own Gig"))
    assert made.host_id == admin.id


def admin_edit_form(client, admin, owner, event, images):
    response = client.get(f"/host/events/{event.slug}/edit/")
    assert response.status_code == 200
    page = page_text(response)
    assert "Edit “Someone's Gig”" in page
    assert 'value="Test Hall"' in page


def admin_edits(client, admin, owner, event, images):
    response = edit(client, event, event_data(event.city, title="Renamed by Admin"))
    assert response.status_code == 303
    saved = saved_event(event)
    assert (saved.title, saved.host_id) == ("Renamed by Admin", owner.id)


def admin_previews(client, admin, owner, event, images):
    assert client.get(f"/host/events/{event.slug}/preview/").status_code == 303  # published
    event.published_at = None
    db.session.commit()
    response = client.get(f"/host/events/{event.slug}/preview/")
    assert response.status_code == 200
    assert "Draft — only you can see this" in page_text(response)


def admin_publishes(client, admin, owner, event, images):
    event.published_at = None
    db.session.commit()
    response = client.post(f"/host/events/{event.slug}/publish/",
                           data={"csrf_token": admin_token(client)})  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{event.slug}/"
    assert saved_event(event).is_listed


def admin_deactivates(client, admin, owner, event, images):
    response = client.post(f"/host/events/{event.slug}/deactivate/",
                           data={"csrf_token": admin_token(client)})  # fmt: skip
    assert response.status_code == 303
    assert saved_event(event).is_active is False
    assert client.get(f"/events/{event.slug}/").status_code == 404


def admin_reactivates(client, admin, owner, event, images):
    event.is_active = False
    db.session.commit()
    response = client.post(f"/host/events/{event.slug}/reactivate/",
                           data={"csrf_token": admin_token(client)})  # fmt: skip
    assert response.status_code == 303
    assert saved_event(event).is_active is True
    assert client.get(f"/events/{event.slug}/").status_code == 200


def admin_deactivate_page(client, admin, owner, event, images):
    response = client.get(f"/host/events/{event.slug}/deactivate/")
    assert response.status_code == 200
    assert f"Take “{event.title}” off the site?" in page_text(response)


def admin_cancel_page(client, admin, owner, event, images):
    response = client.get(f"/host/events/{event.slug}/cancel/")
    assert response.status_code == 200
    assert f"Cancel “{event.title}”?" in page_text(response)


def admin_cancels(client, admin, owner, event, images):
    response = client.post(f"/host/events/{event.slug}/cancel/",
                           data={"csrf_token": admin_token(client), "reason": "Storm"})  # fmt: skip
    assert response.status_code == 303
    assert saved_event(event).is_cancelled


def admin_attendees(client, admin, owner, event, images):
    response = client.get(f"/host/events/{event.slug}/attendees/")
    assert response.status_code == 200
    page = page_text(response)
    assert "Attendees of Someone's Gig" in page
    assert "ADMN-0001" in page


def admin_attendees_csv(client, admin, owner, event, images):
    response = client.get(f"/host/events/{event.slug}/attendees.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [row[:2] for row in rows[1:]] == [["ADMN-0001", "Ann"]]


def admin_images(client, admin, owner, event, images):
    response = client.get(f"/host/events/{event.slug}/images/")
    assert response.status_code == 200
    page = page_text(response)
    assert "Images for Someone's Gig" in page
    assert "Second picture" in page


def admin_uploads(client, admin, owner, event, images):
    from tests.test_images import image_bytes, upload

    response = upload(client, event, image_bytes(), alt="Crowd at the front")
    assert response.status_code == 303
    assert image_alts(event) == ["First picture", "Second picture", "Crowd at the front"]


def admin_deletes_an_image(client, admin, owner, event, images):
    response = client.post(f"/host/events/{event.slug}/images/{images[0].id}/delete/",
                           data={"csrf_token": admin_token(client)})  # fmt: skip
    assert response.status_code == 303
    assert image_alts(event) == ["Second picture"]


def admin_moves_an_image(client, admin, owner, event, images):
    response = client.post(f"/host/events/{event.slug}/images/{images[1].id}/move/",
                           data={"csrf_token": admin_token(client), "direction": "up"})  # fmt: skip
    assert response.status_code == 303
    db.session.expire_all()
    assert image_alts(event) == ["Second picture", "First picture"]


ADMIN_CASES = {
    ("GET", "/host/"): admin_dashboard,
    ("GET", "/host/events/new/"): admin_new_form,
    ("POST", "/host/events/new/"): admin_creates,
    ("GET", "/host/events/{slug}/edit/"): admin_edit_form,
    ("POST", "/host/events/{slug}/edit/"): admin_edits,
    ("GET", "/host/events/{slug}/preview/"): admin_previews,
    ("POST", "/host/events/{slug}/publish/"): admin_publishes,
    ("GET", "/host/events/{slug}/deactivate/"): admin_deactivate_page,
    ("POST", "/host/events/{slug}/deactivate/"): admin_deactivates,
    ("POST", "/host/events/{slug}/reactivate/"): admin_reactivates,
    ("GET", "/host/events/{slug}/cancel/"): admin_cancel_page,
    ("POST", "/host/events/{slug}/cancel/"): admin_cancels,
    ("GET", "/host/events/{slug}/attendees/"): admin_attendees,
    ("GET", "/host/events/{slug}/attendees.csv"): admin_attendees_csv,
    ("GET", "/host/events/{slug}/images/"): admin_images,
    ("POST", "/host/events/{slug}/images/"): admin_uploads,
    ("POST", "/host/events/{slug}/images/1/delete/"): admin_deletes_an_image,
    ("POST", "/host/events/{slug}/images/1/move/"): admin_moves_an_image,
}


def test_the_admin_matrix_covers_every_host_route():
    assert set(ADMIN_CASES) == set(HOST_ROUTES)


@pytest.mark.parametrize(("method", "path"), HOST_ROUTES)
def test_admins_may_use_every_host_route_on_any_event(client, admin_and_gig, method, path):
    ADMIN_CASES[method, path](client, *admin_and_gig)


def test_admins_cannot_lift_a_suspension_from_the_host_pages(client, admin_and_gig):
    event = admin_and_gig[2]
    suspend(event, "Spam listing.")
    response = client.post(f"/host/events/{event.slug}/reactivate/",
                           data={"csrf_token": admin_token(client)})  # fmt: skip
    assert response.status_code == 409
    assert "suspended by an administrator: Spam listing." in page_text(response)
    saved = saved_event(event)
    assert (saved.suspension_reason, saved.is_listed) == ("Spam listing.", False)


def event_data(city, **overrides):
    start = (now() + timedelta(days=30)).astimezone(city.zone).replace(hour=19, minute=30)
    data = {
        "title": "Fado by the River",
        "description": "An evening of fado songs by the Tagus, with petiscos.",
        "category": "music",
        "city_id": str(city.id),
        "venue_name": "Clube de Fado",
        "venue_address": "Rua de São João da Praça 94",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "40",
        "max_per_booking": "4",
        "price": "25.00",
        "currency": "EUR",
    }
    data.update(overrides)
    return data


def create(client, data):
    token = csrf_token(client, "/host/events/new/")
    return client.post("/host/events/new/", data={"csrf_token": token, **data})


def test_host_creates_an_event_in_local_time(client, db_session, host, lisbon):
    data = event_data(lisbon)
    response = create(client, data)
    assert response.status_code == 303
    event = db.session.scalar(select(Event).where(Event.title == "Fado by the River"))
    assert event.host_id == host.id
    assert event.slug.startswith("fado-by-the-river-")
    local = event.starts_at.astimezone(lisbon.zone)
    assert local.strftime("%Y-%m-%dT%H:%M") == data["starts_at"]
    assert event.starts_at.tzinfo == UTC
    assert event.capacity == 40
    dashboard = html.unescape(client.get("/host/").get_data(as_text=True))
    assert "Fado by the River" in dashboard
    assert "0 / 40" in dashboard
    assert client.get(f"/events/{event.slug}/").status_code == 302  # a draft: to the preview


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "This field is required"),
        ({"title": "x" * 141}, "between 5 and 140"),
        ({"description": "short"}, "between 20 and 10000"),
        ({"capacity": "0"}, "between 1 and 100000"),
        ({"capacity": "100001"}, "between 1 and 100000"),
        ({"capacity": "lots"}, "Not a valid integer"),
        ({"price": "-1"}, "Enter a price from 0 (free) to 100,000."),
        ({"price": "abc"}, "Not a valid decimal"),
        ({"city_id": "999999"}, "Not a valid choice"),
        ({"category": "knitting"}, "Not a valid choice"),
        ({"starts_at": "2001-01-01T10:00", "ends_at": "2001-01-01T12:00"}, "must be in the future"),
        ({"starts_at": "banana"}, "Not a valid datetime"),
        ({"max_per_booking": "50"}, "more than the capacity"),
    ],
)
def test_event_form_validation(client, db_session, host, lisbon, overrides, message):
    response = create(client, event_data(lisbon, **overrides))
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))
    assert db.session.scalar(select(Event)) is None


def test_end_must_be_after_start(client, db_session, host, lisbon):
    data = event_data(lisbon)
    response = create(client, {**data, "ends_at": data["starts_at"]})
    assert response.status_code == 400
    assert "The end must be after the start." in response.get_data(as_text=True)


def test_a_time_skipped_by_daylight_saving_is_refused(client, db_session, host, lisbon):
    year = now().year + 1
    # Lisbon skips 01:00–02:00 on the last Sunday of March.
    last_sunday = max(
        datetime(year, 3, day) for day in range(25, 32) if datetime(year, 3, day).weekday() == 6
    )
    start = last_sunday.replace(hour=1, minute=30).strftime("%Y-%m-%dT%H:%M")
    end = last_sunday.replace(hour=4).strftime("%Y-%m-%dT%H:%M")
    response = create(client, event_data(lisbon, starts_at=start, ends_at=end))
    assert response.status_code == 400
    assert "the clocks change" in html.unescape(response.get_data(as_text=True))


def edit(client, event, data):
    token = csrf_token(client, f"/host/events/{event.slug}/edit/")
    return client.post(f"/host/events/{event.slug}/edit/", data={"csrf_token": token, **data})


def test_edit_keeps_the_slug_and_cannot_drop_capacity_below_bookings(
    client, db_session, host, lisbon
):
    event = make_event(host=host, city=lisbon, capacity=40, title="Old Title")
    make_booking(event, quantity=12)
    db_session.commit()
    slug = event.slug

    refused = edit(client, event, event_data(lisbon, capacity="10", title="New Title"))
    assert refused.status_code == 400
    assert "12 seats are already booked" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Event, event.id).capacity == 40

    accepted = edit(client, event, event_data(lisbon, capacity="12", title="New Title"))
    assert accepted.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Event, event.id)
    assert (saved.capacity, saved.title, saved.slug) == (12, "New Title", slug)


def test_edit_form_shows_local_times(client, db_session, host, lisbon):
    start = datetime(2031, 7, 1, 18, 0, tzinfo=UTC)  # 19:00 in Lisbon (WEST)
    event = make_event(host=host, city=lisbon, starts_at=start)
    db_session.commit()
    page = client.get(f"/host/events/{event.slug}/edit/").get_data(as_text=True)
    assert 'value="2031-07-01T19:00"' in page


def test_editing_an_event_in_the_repeated_hour_keeps_its_time(client, db_session, host, lisbon):
    """Lisbon's clocks go back at 02:00 on 2031-10-26: 01:30 happens twice. An event at the
    second 01:30 (01:30 UTC) must stay there when its page is saved unchanged."""
    second_pass = datetime(2031, 10, 26, 1, 30, tzinfo=UTC)  # 01:30 WET, after the change
    event = make_event(host=host, city=lisbon, starts_at=second_pass,
                       ends_at=second_pass + timedelta(hours=2))  # fmt: skip
    db_session.commit()
    page = client.get(f"/host/events/{event.slug}/edit/").get_data(as_text=True)
    assert 'value="2031-10-26T01:30"' in page
    data = event_data(lisbon, title="Late Fado", starts_at="2031-10-26T01:30",
                      ends_at="2031-10-26T03:30")  # fmt: skip
    response = edit(client, event, data)
    assert response.status_code == 303
    db_session.expire_all()
    saved = db.session.get(Event, event.id)
    assert saved.title == "Late Fado"
    assert saved.starts_at == second_pass  # not an hour earlier, the first 01:30
    # Moving it to another time in that hour can't say which pass is meant: refused.
    response = edit(client, event, {**data, "starts_at": "2031-10-26T01:45"})
    assert response.status_code == 400
    assert "happens twice that night" in html.unescape(response.get_data(as_text=True))
    db_session.expire_all()
    assert db.session.get(Event, event.id).starts_at == second_pass


def test_a_new_event_in_the_repeated_hour_is_refused(client, db_session, host, lisbon):
    data = event_data(lisbon, starts_at="2031-10-26T01:30", ends_at="2031-10-26T04:00")
    response = create(client, data)
    assert response.status_code == 400
    assert "happens twice that night in Europe/Lisbon" in html.unescape(
        response.get_data(as_text=True)
    )
    assert db.session.scalar(select(Event)) is None


def test_deactivate_and_reactivate(client, db_session, host):
    event = make_event(host=host)
    db_session.commit()
    token = csrf_token(client, "/host/")
    client.post(f"/host/events/{event.slug}/deactivate/", data={"csrf_token": token})
    assert client.get(f"/events/{event.slug}/").status_code == 404
    client.post(f"/host/events/{event.slug}/reactivate/", data={"csrf_token": token})
    assert client.get(f"/events/{event.slug}/").status_code == 200


def test_attendee_list_and_csv(client, db_session, host):
    event = make_event(host=host)
    make_booking(event, user=make_user(display_name="=cmd|' /C calc'!A0", email="x@e.com"),
                 quantity=2, reference="ATTE-ND01")  # fmt: skip
    make_booking(event, user=make_user(display_name="Bea"), quantity=1, status="cancelled")
    db_session.commit()

    page = client.get(f"/host/events/{event.slug}/attendees/").get_data(as_text=True)
    assert "ATTE-ND01" in page
    assert "Bea" not in page

    response = client.get(f"/host/events/{event.slug}/attendees.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["reference", "name", "email", "seats", "booked_at_utc"]
    assert rows[1][:4] == ["ATTE-ND01", "'=cmd|' /C calc'!A0", "x@e.com", "2"]
    assert len(rows) == 2


def test_dashboard_lists_upcoming_before_past(client, db_session, host):
    make_event(host=host, title="Past One", starts_at=now() - timedelta(days=5))
    make_event(host=host, title="Future One", starts_at=now() + timedelta(days=5))
    make_event(title="Not Mine")
    db_session.commit()
    page = client.get("/host/").get_data(as_text=True)
    assert page.index("Future One") < page.index("Past One")
    assert "Not Mine" not in page
