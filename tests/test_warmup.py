"""Templates compiled once before the workers fork (gunicorn's when_ready, preload_app)."""

import pytest

from eventmate.warmup import compile_templates
from tests.factories import make_event


@pytest.fixture
def compiling(app, monkeypatch):
    """The templates compiled from here on (Jinja compiles on a template's first load)."""
    compiled = []
    real_compile = app.jinja_env.compile

    def spy(source, name=None, *args, **kwargs):
        compiled.append(name)
        return real_compile(source, name, *args, **kwargs)

    monkeypatch.setattr(app.jinja_env, "compile", spy)
    return compiled


def test_compiled_templates_are_not_compiled_again_by_pages(app, client, db_session, compiling):
    event = make_event()
    db_session.commit()
    app.jinja_env.cache.clear()  # as in a freshly started process

    count = compile_templates(app)
    assert count >= 20
    assert "events/search.html" in compiling
    compiling.clear()

    pages = {
        "/": (200, "EventMate"),
        "/events/": (200, event.title),
        f"/events/{event.slug}/": (200, event.description),
        "/login/": (200, 'name="password"'),
        "/no-such-page/": (404, "EventMate"),
    }
    for path, (status, text) in pages.items():
        response = client.get(path)
        assert (response.status_code, text in response.get_data(as_text=True)) == (status, True)
    assert compiling == []


def test_without_it_the_first_pages_compile_their_templates(app, client, db_session, compiling):
    app.jinja_env.cache.clear()
    client.get("/events/")
    assert "events/search.html" in compiling
