"""Every state-changing route needs a CSRF token; no GET route changes state."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from eventmate.extensions import db
from tests.factories import make_booking, make_event, make_member


def url_for_rule(rule, samples: dict) -> str:
    """A concrete URL for a URL-map rule, filling its arguments with real values."""
    values = {}
    for argument in rule.arguments:
        converter = type(rule._converters[argument]).__name__
        values[argument] = samples.get(converter, 1)
    return rule.build(values, append_unknown=False)[1]


# Routes whose credential is a signed token in the URL, which mail apps POST to without a
# form of ours (tests/test_email.py checks a forged token is refused).
CSRF_EXEMPT = {"bookings.reminders_off"}


def rules(app, method: str):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if method in rule.methods
        and rule.endpoint != "static"
        and not (method == "POST" and rule.endpoint in CSRF_EXEMPT)
    ]


def database_state() -> dict:
    """Every row of every table (the test database is small): any write shows up."""
    return {
        table.name: [
            tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key))
        ]
        for table in db.metadata.sorted_tables
    }


@pytest.fixture
def logged_in_with_data(client, db_session, login):
    member = make_member(is_host=True)
    event = make_event(host=member)
    booking = make_booking(event, user=member, quantity=2, reference="ABCD-EFGH")
    db_session.commit()
    login(member)
    return {"SlugConverter": event.slug, "ReferenceConverter": booking.reference}


def test_there_are_post_routes_to_check(app):
    assert len(rules(app, "POST")) >= 3


def test_every_post_route_rejects_a_missing_csrf_token(app, client, logged_in_with_data):
    for rule in rules(app, "POST"):
        url = url_for_rule(rule, logged_in_with_data)
        response = client.post(url, data={})
        assert response.status_code == 400, f"{rule.rule} accepted a POST without a CSRF token"
        assert "Your form expired" in response.get_data(as_text=True)


def test_every_post_route_rejects_a_forged_csrf_token(app, client, logged_in_with_data):
    for rule in rules(app, "POST"):
        url = url_for_rule(rule, logged_in_with_data)
        response = client.post(url, data={"csrf_token": "forged"})
        assert response.status_code == 400, rule.rule


def test_no_get_route_changes_state(app, client, logged_in_with_data):
    before = database_state()
    for rule in rules(app, "GET"):
        url = url_for_rule(rule, logged_in_with_data)
        response = client.get(url)
        assert response.status_code < 500, rule.rule
    db.session.expire_all()
    assert database_state() == before
