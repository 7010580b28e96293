import html
import json
import re
from datetime import UTC, datetime, timedelta

from tests.factories import make_booking, make_city, make_event, make_image, make_review, now


def json_ld(page: str) -> dict:
    match = re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S)
    assert match, "no JSON-LD block"
    return json.loads(match.group(1))


def test_event_page_shows_the_essentials(client, db_session):
    berlin = make_city(name="Berlin", slug="berlin", country="Germany", timezone="Europe/Berlin")
    event = make_event(
        title="Techno Night",
        city=berlin,
        venue_name="Tresor",
        venue_address="Köpenicker Str. 70",
        capacity=50,
        starts_at=datetime(2031, 7, 4, 20, 0, tzinfo=UTC),
    )
    make_image(event, url="/static/img/demo/music-2.svg", alt_text="Dancers under lights")
    make_booking(event, quantity=8)
    db_session.commit()

    response = client.get(f"/events/{event.slug}/")
    page = html.unescape(response.get_data(as_text=True))

    assert response.status_code == 200
    assert "<h1>Techno Night</h1>" in page
    # 20:00 UTC in July is 22:00 in Berlin (CEST), and the zone is shown.
    assert "Fri 4 Jul 2031, 22:00 CEST" in page
    assert "Europe/Berlin" in page
    assert "Tresor" in page
    assert "Köpenicker Str. 70" in page
    assert event.host.display_name in page
    assert "€10.00" in page
    assert "42 of 50 seats left" in page
    assert 'alt="Dancers under lights"' in page
    assert "Log in to book" in page


def test_event_page_keeps_newlines_and_escapes_html(client, db_session):
    event = make_event(description="Line one\nLine two <b>bold</b> <script>x()</script>")
    db_session.commit()
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert '<div class="prose">Line one\nLine two &lt;b&gt;bold&lt;/b&gt; &lt;script&gt;' in page
    assert "<script>x()</script>" not in page


def test_sold_out_event_says_so_and_offers_no_booking(client, db_session):
    event = make_event(capacity=2)
    make_booking(event, quantity=2)
    db_session.commit()
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert "Sold out" in page
    assert ">Book</button>" not in page
    assert "Log in to book" not in page
    assert json_ld(page)["offers"]["availability"] == "https://schema.org/SoldOut"


def test_event_page_shows_rating_and_paginates_reviews(client, db_session):
    event = make_event(starts_at=now() - timedelta(days=3))
    for n in range(12):
        make_review(
            event,
            rating=5 if n % 2 else 4,
            body=f"Review number {n:02d}",
            created_at=now() - timedelta(hours=n),
        )
    db_session.commit()

    first_url = f"/events/{event.slug}/"
    first = client.get(first_url).get_data(as_text=True)
    second = client.get(f"/events/{event.slug}/?reviews=2").get_data(as_text=True)

    assert "<strong>4.5</strong> out of 5 · 12 reviews" in first
    assert "Review number 00" in first
    assert "Review number 09" in first
    assert "Review number 10" not in first
    assert "Review number 10" in second
    assert "Review number 11" in second
    assert f'href="/events/{event.slug}/?reviews=2"' in first
    # Anything else is one of those two pages: a redirect there, never a page of its own.
    last = f"/events/{event.slug}/?reviews=2"
    for bad, canonical, shown, hidden in (("-1", first_url, "00", "10"),
                                          ("abc", first_url, "00", "10"),
                                          ("1", first_url, "00", "10"),
                                          ("999", last, "11", "00")):  # fmt: skip
        response = client.get(f"/events/{event.slug}/?reviews={bad}")
        assert response.status_code == 302
        assert response.headers["Location"] == canonical
        page = client.get(canonical).get_data(as_text=True)
        assert f"Review number {shown}" in page
        assert f"Review number {hidden}" not in page


def test_review_text_is_escaped(client, db_session):
    event = make_event()
    make_review(event, body="<script>alert('x')</script>")
    db_session.commit()
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert "<script>alert(" not in page
    assert "&lt;script&gt;" in page


def test_event_without_reviews_says_so(client, db_session):
    event = make_event()
    db_session.commit()
    assert "No reviews yet." in client.get(f"/events/{event.slug}/").get_data(as_text=True)


def test_unknown_or_inactive_event_is_the_site_404(client, db_session):
    hidden = make_event(is_active=False)
    db_session.commit()
    for url in ("/events/no-such-event/", f"/events/{hidden.slug}/"):
        response = client.get(url)
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "Page not found" in page
        assert 'class="site-header"' in page


def test_event_page_seo_tags_and_json_ld(client, db_session):
    event = make_event(
        title="Sushi Masterclass",
        category="food",
        starts_at=datetime(2031, 1, 10, 18, 30, tzinfo=UTC),
    )
    make_image(event, url="/static/img/demo/food-1.svg")
    make_review(event, rating=5)
    make_review(event, rating=4)
    db_session.commit()

    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)

    canonical = f"http://localhost/events/{event.slug}/"
    assert f'<link rel="canonical" href="{canonical}">' in page
    assert '<meta property="og:type" content="event">' in page
    assert (
        '<meta property="og:image" content="http://localhost/static/img/demo/food-1.svg">' in page
    )
    assert "<title>Sushi Masterclass — " in page
    data = json_ld(page)
    assert data["@type"] == "Event"
    assert data["name"] == "Sushi Masterclass"
    assert data["startDate"] == "2031-01-10T19:30+01:00"
    assert data["offers"]["price"] == "10.00"
    assert data["offers"]["priceCurrency"] == "EUR"
    assert data["offers"]["availability"] == "https://schema.org/InStock"
    assert data["aggregateRating"] == {
        "@type": "AggregateRating",
        "ratingValue": 4.5,
        "reviewCount": 2,
    }
    assert data["location"]["address"]["addressLocality"] == event.city.name


def test_json_ld_cannot_break_out_of_its_script_tag(client, db_session):
    event = make_event(title="</script><script>alert(1)</script>")
    db_session.commit()
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert "</script><script>alert(1)" not in page
    assert json_ld(page)["name"] == "</script><script>alert(1)</script>"


def test_past_event_page_still_shows_but_cannot_be_booked(client, db_session):
    event = make_event(starts_at=now() - timedelta(days=1))
    db_session.commit()
    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)
    assert "This event has ended." in page
    assert ">Book</button>" not in page
    assert "Log in to book" not in page


def test_event_page_shows_every_image_in_order(client, db_session):
    event = make_event()
    for position, alt in ((2, "Third"), (0, "First"), (1, "Second")):
        make_image(event, position=position, alt_text=f"{alt} picture")
    db_session.commit()

    page = client.get(f"/events/{event.slug}/").get_data(as_text=True)

    shown = [page.index(f'alt="{alt} picture"') for alt in ("First", "Second", "Third")]
    assert shown == sorted(shown)


def test_a_sold_out_event_suggests_events_like_it_with_seats_left(client, db_session):
    lyon = make_city(name="Lyon", slug="lyon", country="France", timezone="Europe/Paris")
    nice = make_city(name="Nice", slug="nice", country="France", timezone="Europe/Paris")
    make_event(slug="full", category="music", city=lyon, capacity=2, seats_booked=2)
    make_event(slug="jazz-nice", title="Jazz in Nice", category="music", city=nice)
    make_event(title="Lyon Food Walk", category="food", city=lyon)
    make_event(title="Nice Food Walk", category="food", city=nice)
    make_event(title="Also Full", category="music", city=nice, capacity=1, seats_booked=1)
    make_event(title="Old Concert", category="music", city=lyon,
               starts_at=now() - timedelta(days=2))  # fmt: skip
    db_session.commit()

    page = client.get("/events/full/").get_data(as_text=True)
    similar = page.split('id="similar-heading"')[1].split("</section>")[0]

    assert "Seats are still free at these" in page
    assert "Jazz in Nice" in similar  # same category
    assert "Lyon Food Walk" in similar  # same city
    for elsewhere in ("Nice Food Walk", "Also Full", "Old Concert"):
        assert elsewhere not in similar
    # An event with seats left suggests nothing: its own form is the way on.
    assert 'id="similar-heading"' not in client.get("/events/jazz-nice/").get_data(as_text=True)
