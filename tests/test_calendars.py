import re
from datetime import UTC, date, datetime

from icalendar import Calendar

from tests.factories import make_booking, make_city, make_event

# My bookings offers the private feed in a field to copy (its path: group 1).
FEED_FIELD = re.compile(
    r'id="feed-url" type="url" value="http://localhost(/me/bookings\.ics\?key=[^"]+)"'
)


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def test_event_calendar_has_local_times_with_their_zone(client, db_session):
    tokyo = make_city(name="Tokyo", slug="tokyo", country="Japan", timezone="Asia/Tokyo")
    event = make_event(
        title="Sakura Walk",
        city=tokyo,
        venue_name="Ueno Park",
        starts_at=datetime(2031, 4, 1, 1, 0, tzinfo=UTC),
    )
    db_session.commit()

    calendar = parse(client.get(f"/events/{event.slug}/calendar.ics"))

    vevent = calendar.walk("VEVENT")[0]
    assert str(vevent["summary"]) == "Sakura Walk"
    start = vevent.decoded("dtstart")
    assert (start.hour, str(start.tzinfo)) == (10, "Asia/Tokyo")  # 01:00 UTC is 10:00 JST
    assert start == datetime(2031, 4, 1, 1, 0, tzinfo=UTC)
    assert vevent["dtstart"].params["TZID"] == "Asia/Tokyo"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    assert "Ueno Park" in str(vevent["location"])
    assert str(vevent["uid"]) == f"event-{event.id}@eventmate"


def test_event_calendar_for_unknown_event_is_404(client, db_session):
    assert client.get("/events/nope/calendar.ics").status_code == 404


def test_bookings_feed_lists_the_members_bookings_only(client, db_session, login):
    from tests.factories import make_member

    member = make_member()
    mine = make_event(title="My Gig")
    cancelled = make_event(title="Dropped Gig")
    make_booking(mine, user=member, quantity=2)
    make_booking(cancelled, user=member, status="cancelled")
    make_booking(make_event(title="Their Gig"))
    db_session.commit()
    login(member)

    calendar = parse(client.get("/me/bookings.ics"))

    events = {str(e["summary"]).split(" (")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == {"My Gig", "Dropped Gig"}
    assert str(events["Dropped Gig"]["status"]) == "CANCELLED"
    assert str(events["My Gig"]["status"]) == "CONFIRMED"


def test_bookings_feed_works_with_its_private_key_and_not_a_forged_one(
    app, client, db_session, login
):
    from tests.factories import make_member

    member = make_member()
    make_booking(make_event(title="Keyed Gig"), user=member)
    db_session.commit()
    login(member)
    page = client.get("/me/bookings/").get_data(as_text=True)
    feed = FEED_FIELD.search(page).group(1)

    anonymous = app.test_client()
    calendar = parse(anonymous.get(feed))
    assert "Keyed Gig" in str(calendar.walk("VEVENT")[0]["summary"])
    assert anonymous.get("/me/bookings.ics?key=forged").status_code == 404
    assert anonymous.get("/me/bookings.ics").status_code == 302


def test_a_member_can_reset_their_calendar_link(app, client, db_session, login):
    """A leaked link is revocable: after "Reset my calendar link" the old one is a 404 and the
    new one works; a link made before links could be reset works until the first reset."""
    from itsdangerous import URLSafeSerializer

    from eventmate.calendars.feeds import FEED_SALT
    from tests.conftest import post_form
    from tests.factories import make_member

    member = make_member()
    make_booking(make_event(title="Revocable Gig"), user=member)
    db_session.commit()
    login(member)

    def current_link() -> str:
        page = client.get("/me/bookings/").get_data(as_text=True)
        assert "Reset my calendar link" in page
        return FEED_FIELD.search(page).group(1)

    old = current_link()
    legacy = "/me/bookings.ics?key=" + URLSafeSerializer(
        app.config["SECRET_KEY"], salt=FEED_SALT
    ).dumps(member.id)
    anonymous = app.test_client()
    assert anonymous.get(old).status_code == 200
    assert anonymous.get(legacy).status_code == 200

    response = post_form(client, "/me/bookings/", {}, action="/me/calendar-link/reset/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/me/bookings/")
    page = client.get("/me/bookings/").get_data(as_text=True)
    assert "The old link no longer works" in page
    new = current_link()
    assert new != old
    for revoked in (old, legacy):
        assert anonymous.get(revoked).status_code == 404
    calendar = parse(anonymous.get(new))
    assert "Revocable Gig" in str(calendar.walk("VEVENT")[0]["summary"])
    # Without the form's token, nothing is reset.
    assert client.post("/me/calendar-link/reset/").status_code == 400
    assert anonymous.get(new).status_code == 200


def test_calendars_carry_the_same_vtimezones_as_icalendar_adds_itself(app, db_session):
    """feeds._finish builds each zone's VTIMEZONE once per process and span; the calendar is the
    one Calendar.add_missing_timezones() makes for the years of the events and the next one,
    zones in the same place."""
    from eventmate.calendars import feeds

    paris = make_city(name="Paris", slug="paris", country="France", timezone="Europe/Paris")
    tokyo = make_city(name="Tokyo", slug="tokyo", country="Japan", timezone="Asia/Tokyo")
    bookings = [make_booking(make_event(city=city)) for city in (paris, tokyo, paris)]
    db_session.commit()
    with app.test_request_context():
        ours = Calendar.from_ical(feeds.bookings_calendar(bookings, "Ada"))
        theirs = Calendar()
        for vevent in ours.walk("VEVENT"):
            theirs.add_component(vevent)
        years = [vevent.decoded(name).year for vevent in ours.walk("VEVENT")
                 for name in ("dtstart", "dtend")]  # fmt: skip
        theirs.add_missing_timezones(date(min(years), 1, 1), date(max(years) + 2, 1, 1))
        again = Calendar.from_ical(feeds.bookings_calendar(bookings, "Ada"))

    names = [component.name for component in ours.subcomponents]
    assert names == ["VTIMEZONE", "VTIMEZONE", "VEVENT", "VEVENT", "VEVENT"]
    assert {tz.tz_name for tz in ours.timezones} == {"Europe/Paris", "Asia/Tokyo"}
    for zone in ours.timezones:
        [same] = [tz for tz in theirs.timezones if tz.tz_name == zone.tz_name]
        assert zone.to_ical() == same.to_ical()
    assert [tz.to_ical() for tz in again.timezones] == [tz.to_ical() for tz in ours.timezones]
