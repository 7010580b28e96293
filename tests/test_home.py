import re
from datetime import timedelta

from eventmate.seed.demo import seed_demo
from tests.conftest import page_text
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


def home_search_form(page: str) -> str:
    return page.split('<form class="hero-search"')[1].split("</form>")[0]


def test_home_city_picker_lists_the_cities_with_upcoming_events(client, db_session):
    make_event(city=make_city(name="Zagreb", slug="zagreb"))
    make_event(city=make_city(name="Aarhus", slug="aarhus"))
    make_event(city=make_city(name="Pastville", slug="pastville"),
               starts_at=now() - timedelta(days=2))  # fmt: skip
    make_city(name="Emptyton", slug="emptyton")
    db_session.commit()

    form = home_search_form(client.get("/").get_data(as_text=True))

    assert 'action="/events/"' in form
    assert '<label for="home-city" class="visually-hidden">City</label>' in form
    options = re.findall(r'<option value="([^"]*)">([^<]+)</option>', form)
    assert options == [("", "Any city"), ("aarhus", "Aarhus"), ("zagreb", "Zagreb")]


def test_the_home_search_submits_with_its_city_filter(client, db_session):
    aarhus = make_city(name="Aarhus", slug="aarhus")
    make_event(title="Harbour Yoga", city=aarhus)
    make_event(title="Rooftop Yoga", city=make_city(name="Zagreb", slug="zagreb"))
    db_session.commit()
    form = home_search_form(client.get("/").get_data(as_text=True))
    assert 'name="q"' in form
    assert '<select id="home-city" name="city">' in form

    # What the browser sends for "yoga" in Aarhus.
    response = client.get("/events/?q=yoga&city=aarhus")

    page = page_text(response)
    assert response.status_code == 200
    assert "Harbour Yoga" in page
    assert "Rooftop Yoga" not in page
    assert "1 upcoming event" in page


def test_the_home_search_with_any_city_searches_everywhere(client, db_session):
    make_event(title="Harbour Yoga", city=make_city(name="Aarhus", slug="aarhus"))
    make_event(title="Rooftop Yoga", city=make_city(name="Zagreb", slug="zagreb"))
    db_session.commit()

    response = client.get("/events/?q=yoga&city=")  # "Any city"
    assert response.headers["Location"] == "/events/?q=yoga"  # the search's canonical URL
    page = page_text(client.get(response.headers["Location"]))

    assert "Harbour Yoga" in page
    assert "Rooftop Yoga" in page


def test_each_suggestion_in_the_search_placeholder_finds_demo_events(client, db_session):
    seed_demo()  # its "now" is the real one: the demo events are still to come
    page = client.get("/").get_data(as_text=True)
    placeholder = re.search(r'id="home-q" type="search" name="q" placeholder="([^"]+)"', page)
    suggestions = [word.strip(" …") for word in placeholder.group(1).split(",")]
    assert len(suggestions) >= 3

    for word in suggestions:
        response = client.get(f"/events/?q={word}")
        assert response.status_code == 200
        assert "No upcoming events match" not in page_text(response), word
        assert re.search(r"\d+ upcoming events?", page_text(response)), word
