from datetime import timedelta

from tests.factories import make_city, make_event, now


def test_home_lists_upcoming_events_soonest_first(client, db_session):
    make_event(title="Later Gig", starts_at=now() + timedelta(days=20))
    make_event(title="Sooner Gig", starts_at=now() + timedelta(days=2))
    make_event(title="Past Gig", starts_at=now() - timedelta(days=2))
    make_event(title="Hidden Gig", is_active=False)
    db_session.commit()

    page = client.get("/").get_data(as_text=True)

    assert page.index("Sooner Gig") < page.index("Later Gig")
    assert "Past Gig" not in page
    assert "Hidden Gig" not in page


def test_home_counts_upcoming_events_per_category(client, db_session):
    for _ in range(3):
        make_event(category="tech")
    make_event(category="tech", starts_at=now() - timedelta(days=1))
    make_event(category="food")
    db_session.commit()

    page = client.get("/").get_data(as_text=True)

    assert 'href="/categories/tech/">Tech <span class="count">3</span>' in page
    assert 'href="/categories/food/">Food &amp; Drink <span class="count">1</span>' in page
    assert 'href="/categories/sports/">Sports <span class="count">0</span>' in page


def test_home_shows_top_cities_by_upcoming_events(client, db_session):
    busy = make_city(name="Busyville", slug="busyville")
    quiet = make_city(name="Quietton", slug="quietton")
    for _ in range(3):
        make_event(city=busy)
    make_event(city=quiet)
    db_session.commit()

    page = client.get("/").get_data(as_text=True)

    assert page.index("Busyville") < page.index("Quietton")
    assert 'href="/cities/busyville/">Busyville <span class="count">3</span>' in page


def test_home_has_a_search_box_and_seo_tags(client, db_session):
    page = client.get("/").get_data(as_text=True)
    assert 'action="/events/"' in page
    assert 'name="q"' in page
    assert "<title>Find events near you · EventMate</title>" in page
    assert '<link rel="canonical" href="http://localhost/">' in page
    assert '<meta name="description"' in page
    assert '<meta property="og:title" content="Find events near you">' in page


def test_home_with_no_events_says_so(client, db_session):
    page = client.get("/").get_data(as_text=True)
    assert "No upcoming events yet" in page
