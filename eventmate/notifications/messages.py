"""What each kind of message says: a composer per kind renders it from the rows as they are
when it is sent. Feature packages register theirs (`@composer("kind")` in their emails.py)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from eventmate.models import OutboxMessage
from eventmate.notifications.outbox import new_email

# The modules whose composers register themselves; imported on first use.
COMPOSER_MODULES = ("eventmate.bookings.emails", "eventmate.auth.emails",
                    "eventmate.waitlist.emails", "eventmate.account.emails")  # fmt: skip


@dataclass
class Draft:
    """A message to render: `email/<template>.txt` and `.html` with `context`."""

    subject: str
    template: str
    context: dict
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # name, type, data
    headers: dict[str, str] = field(default_factory=dict)


Composer = Callable[[OutboxMessage], Draft | None]  # None: nothing to send any more
COMPOSERS: dict[str, Composer] = {}


def composer(kind: str) -> Callable[[Composer], Composer]:
    def register(function: Composer) -> Composer:
        COMPOSERS[kind] = function
        return function

    return register


def compose(message: OutboxMessage):
    """The EmailMessage for `message`, or None if it no longer applies. Links are built for
    SITE_URL (a worker has no request of its own)."""
    if message.kind not in COMPOSERS:  # (a module imported for other reasons registered its own)
        for module in COMPOSER_MODULES:
            importlib.import_module(module)
    site_url = current_app.config["SITE_URL"]
    with current_app.test_request_context("/", base_url=site_url):
        draft = COMPOSERS[message.kind](message)
        if draft is None:
            return None
        env = current_app.jinja_env
        context = {"site_name": current_app.config["SITE_NAME"], "site_url": site_url,
                   "subject": draft.subject, **draft.context}  # fmt: skip
        text = env.get_template(f"email/{draft.template}.txt").render(context)
        html = env.get_template(f"email/{draft.template}.html").render(context)
    email = new_email(message, draft.subject)
    for name, value in draft.headers.items():
        email[name] = value
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    for filename, mimetype, data in draft.attachments:
        maintype, subtype = mimetype.split("/", 1)
        # Text attachments (.ics) are UTF-8: without the charset, mail readers take them for
        # ASCII and a "¥" or "€" in them comes out as garbage.
        params = {"charset": "utf-8"} if maintype == "text" else None
        email.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename,
                             params=params)  # fmt: skip
    return email
