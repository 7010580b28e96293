"""Reading an HTML form's fields, as a browser would submit them (for the Locust journeys)."""

from __future__ import annotations

from html.parser import HTMLParser


class FormFields(HTMLParser):
    """The named fields, with their values, of the first <form> whose action is `action` (""
    for a form that posts to its own page)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.fields, self.state = action, {}, "before"
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.state == "before" and (a.get("action") or "") == self.action:
            self.state = "in"
        if self.state != "in":
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "checkbox", "radio"):
            self.fields[name] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea, self.fields[name] = name, ""
        elif tag == "select" and name:
            self._select = name
        elif (
            tag == "option"
            and self._select
            and (self._select not in self.fields or "selected" in a)
        ):
            # The first option unless one is selected (as a browser does).
            self.fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self.state == "in":
            self.state = "done"
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(html: str, action: str) -> dict[str, str]:
    parser = FormFields(action)
    parser.feed(html)
    for name, value in parser.fields.items():  # WTForms starts a textarea with a newline
        if value.startswith(("\r\n", "\n")):
            parser.fields[name] = value.split("\n", 1)[1]
    return parser.fields
