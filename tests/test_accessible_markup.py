"""The markup behind the accessibility fixes (issue 16, item 15), checked on the server's HTML;
tests/e2e/test_accessibility.py runs axe-core over the same pages in a browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.conftest import PASSWORD, post_form
from tests.factories import make_booking, make_event, make_image, make_member, make_review
from tests.factories import now as utc_now


class Elements(HTMLParser):
    """Every start tag on a page, in order, as (tag, attributes)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {key: value or "" for key, value in attrs}))

    def by_id(self, id_: str) -> tuple[str, dict[str, str]]:
        [element] = [(tag, a) for tag, a in self.found if a.get("id") == id_]
        return element

    def with_class(self, name: str) -> list[tuple[str, dict[str, str]]]:
        return [(tag, a) for tag, a in self.found if name in a.get("class", "").split()]


def text_of(page: str, id_: str) -> str:
    return re.search(rf'id="{id_}">([^<]*)<', page).group(1)


def test_a_field_with_an_error_is_described_by_it_and_marked_invalid(client, db_session):
    response = post_form(client, "/register/", {"display_name": "Ada", "email": "not-an-email",
                         "password": "short", "confirm": "short"})  # fmt: skip
    page = response.get_data(as_text=True)
    elements = Elements(page)
    assert response.status_code == 400

    _, email = elements.by_id("email")
    assert email["aria-invalid"] == "true"
    assert email["aria-describedby"] == "email-error-1"
    assert "not a valid email address" in text_of(page, "email-error-1")
    # Its help text first, then its error.
    _, password = elements.by_id("password")
    assert password["aria-describedby"] == "password-help password-error-1"
    assert elements.by_id("password-help")[0] == "p"
    assert "Use 10 to 128 characters" in text_of(page, "password-error-1")
    # A field without an error is neither.
    _, name = elements.by_id("display_name")
    assert "aria-invalid" not in name
    assert "aria-describedby" not in name


def test_a_form_with_errors_opens_on_a_focused_summary_linking_to_each_field(client, db_session):
    response = post_form(client, "/register/", {"display_name": "", "email": "ada@example.com",
                         "password": PASSWORD, "confirm": "something else entirely"})  # fmt: skip
    page = response.get_data(as_text=True)
    [(tag, summary)] = Elements(page).with_class("error-summary")
    assert tag == "div"
    assert summary["tabindex"] == "-1"
    assert "autofocus" in summary
    # Before the form, with a link to each field in error, in the form's order.
    assert page.index("error-summary") < page.index('<form method="post"')
    links = re.findall(r'<li><a href="#([a-z_]+)">', page)
    assert links == ["display_name", "confirm"]


def test_a_form_without_errors_has_no_summary(client, db_session):
    page = client.get("/register/").get_data(as_text=True)
    assert "error-summary" not in page
    assert "aria-invalid" not in page


def test_a_login_refused_is_summarised_with_the_focus_on_it(client, db_session):
    make_member(email="ada@example.com")
    db_session.commit()
    response = post_form(client, "/login/", {"email": "ada@example.com", "password": "wrong!"})
    page = response.get_data(as_text=True)
    [(_, summary)] = Elements(page).with_class("error-summary")
    assert "autofocus" in summary
    summary_html = page.split("error-summary", 1)[1].split("</div>", 1)[0]
    assert "That email and password don&#39;t match an account." in summary_html


def test_a_review_rating_error_is_tied_to_its_group(client, db_session, login):
    event = make_event(starts_at=utc_now().replace(year=utc_now().year - 1))
    member = make_member()
    make_booking(event, user=member)
    db_session.commit()
    login(member)
    form_page = f"/events/{event.slug}/"
    response = post_form(client, form_page, {"body": "Nice."}, f"/events/{event.slug}/review/")
    page = response.get_data(as_text=True)
    elements = Elements(page)
    assert response.status_code == 400
    tag, rating = elements.by_id("rating")
    assert tag == "fieldset"
    assert rating["aria-describedby"] == "rating-error-1"
    assert re.search(r'<li><a href="#rating">', page)


def test_headings_go_down_one_level_at_a_time_on_listings(client, event):
    """The search page's cards are h2 under its h1; the home page's are h3 under an h2."""
    search = client.get("/events/").get_data(as_text=True)
    assert '<h2 class="card-title">Harbour Jazz Night</h2>' in search
    home = client.get("/").get_data(as_text=True)
    assert '<h3 class="card-title">Harbour Jazz Night</h3>' in home


def test_the_home_pages_two_searches_have_different_names(client, db_session):
    elements = Elements(client.get("/").get_data(as_text=True))
    names = [a.get("aria-label") for _, a in elements.found if a.get("role") == "search"]
    assert names == ["Site search", "Find events"]


def test_the_gallery_is_a_named_region_a_keyboard_can_reach(client, event):
    make_image(event, alt_text="Stage")
    make_image(event, alt_text="Crowd", position=1)
    make_review(event)
    [(tag, gallery)] = Elements(
        client.get(f"/events/{event.slug}/").get_data(as_text=True)
    ).with_class("gallery")
    assert (tag, gallery["role"], gallery["aria-label"], gallery["tabindex"]) == (
        "div", "region", "Photos", "0",
    )  # fmt: skip
