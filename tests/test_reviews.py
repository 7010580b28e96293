import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventmate.extensions import db
from eventmate.models import Review
from tests.factories import make_booking, make_event, make_member, make_review, now


def form_token(client, event) -> str:
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    match = re.search(r'class="review-form".*?name="csrf_token" type="hidden" value="([^"]+)"',
                      page, re.S)  # fmt: skip
    assert match, "no review form on the event page"
    return match.group(1)


def post_review(client, event, rating="5", body="Loved it"):
    data = {"csrf_token": form_token(client, event), "rating": rating, "body": body}
    return client.post(f"/events/{event.slug}/review/", data=data)


def review_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Review))


@pytest.fixture
def attendee(db_session, login):
    user = make_member(display_name="Attendee")
    db_session.commit()
    login(user)
    return user


@pytest.fixture
def attended_event(db_session, attendee):
    event = make_event(starts_at=now() - timedelta(days=1))
    make_booking(event, user=attendee, quantity=1)
    db_session.commit()
    return event


def test_attendee_reviews_and_the_average_updates(client, db_session, attendee, attended_event):
    make_review(attended_event, rating=2)
    db_session.commit()

    response = post_review(client, attended_event, "5", "Brilliant night")

    assert response.status_code == 303
    page = html.unescape(client.get(f"/events/{attended_event.slug}/").get_data(as_text=True))
    assert "<strong>3.5</strong> out of 5 · 2 reviews" in page
    assert "Brilliant night" in page
    assert "Update review" in page


def test_editing_keeps_one_review_per_member(client, db_session, attendee, attended_event):
    post_review(client, attended_event, "2", "Meh")
    post_review(client, attended_event, "4", "Grew on me")
    assert review_count() == 1
    review = db.session.scalar(select(Review))
    assert (review.rating, review.body) == (4, "Grew on me")


def test_deleting_a_review(client, db_session, attendee, attended_event):
    post_review(client, attended_event)
    token = form_token(client, attended_event)
    response = client.post(
        f"/events/{attended_event.slug}/review/delete/", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert review_count() == 0
    assert "No reviews yet." in client.get(f"/events/{attended_event.slug}/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("rating", "body", "message"),
    [
        ("0", "x", "Not a valid choice"),
        ("6", "x", "Not a valid choice"),
        ("", "x", "Choose a rating"),
        ("5", "x" * 2001, "Keep it under 2000 characters"),
    ],
)
def test_bad_reviews_are_refused_with_a_message(
    client, db_session, attendee, attended_event, rating, body, message
):
    response = post_review(client, attended_event, rating, body)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert review_count() == 0


def test_review_text_renders_inert(client, db_session, attendee, attended_event):
    post_review(client, attended_event, "3", "<script>alert('pwned')</script>")
    page = client.get(f"/events/{attended_event.slug}/").get_data(as_text=True)
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(" in page


@pytest.mark.parametrize(
    ("starts_in_days", "status"),
    [(-1, "cancelled"), (1, "confirmed")],
    ids=["without-a-confirmed-booking", "before-the-event-starts"],
)
def test_no_review_unless_attended(client, db_session, attendee, starts_in_days, status):
    event = make_event(starts_at=now() + timedelta(days=starts_in_days))
    make_booking(event, user=attendee, status=status)
    db_session.commit()
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert 'class="review-form"' not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        f"/events/{event.slug}/review/", data={"csrf_token": token, "rating": "5"}
    )
    assert response.status_code == 403
    assert review_count() == 0


def test_logged_in_event_page_query_budget(client, db_session, attendee, count_queries):
    client.get("/me/bookings/")  # the member is loaded now (and kept, with Redis), not below
    counts = {}
    for rows in (1, 20):
        event = make_event(starts_at=now() - timedelta(days=1))
        make_booking(event, user=attendee)
        for _ in range(rows):
            make_review(event)
        db_session.commit()
        url = f"/events/{event.slug}/"
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        counts[rows] = counter.count
    # The anonymous budget (2) plus loading the member and their review standing.
    assert counts[1] == counts[20] <= 4, "\n".join(s[:120] for s in counter.statements)
