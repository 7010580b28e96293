"""CPU time and SQL statements per request, measured in-process: a fixed, seeded mix of the
Locust journeys (loadtest/locustfile.py) replayed through Flask's test client against the
load-test database, with production's configuration and Redis.

    LOADTEST_DATABASE_URL=postgresql://…/eventmate_loadtest LOADTEST_PASSWORD=… \\
        .venv/bin/python -m loadtest.accounts --members 10 --hosts 0
    LOADTEST_DATABASE_URL=… LOADTEST_PASSWORD=… .venv/bin/python -m loadtest.replay [--rounds 3]

It measures the code of the checkout it runs in, so two commits compare on copies of the same
database (`cd <worktree of the old commit> && python /path/to/loadtest/replay.py`). CPU time
(not wall time) of this one process: the figures hold on a busy machine, where a load test's
latencies don't; PostgreSQL's and Redis's own work is not in them, their statements are. The
first round warms the caches and is not counted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections import defaultdict
from urllib.parse import urlencode

sys.path.insert(0, os.getcwd())  # the checkout's code, wherever this file is

from sqlalchemy import event as sa_event
from sqlalchemy import text

HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.9.9.9"}
WORDS = ("music", "night", "jazz", "tour")
CATEGORIES = ("music", "tech", "food", "sports", "arts")


class Replay:
    def __init__(self, app, db) -> None:
        from loadtest.forms import form_fields

        self.app, self.form_fields = app, form_fields
        self.statements = 0
        self.costs = defaultdict(lambda: [0, 0.0, 0])  # kind: requests, CPU s, statements
        with app.app_context():
            sa_event.listen(db.engine, "before_cursor_execute", self._count)
            # Bookable for long enough, whatever the code's own columns for "listed" are.
            self.slugs = db.session.execute(text(
                "SELECT slug FROM events WHERE starts_at > now() + interval '3 days' "
                "AND capacity - seats_booked > 50 AND is_active AND host_active "
                "AND suspended_at IS NULL ORDER BY id LIMIT 300"
            )).scalars().all()  # fmt: skip
            self.cities = (
                db.session.execute(text("SELECT slug FROM cities ORDER BY id LIMIT 30"))
                .scalars()
                .all()
            )
            db.session.remove()

    def _count(self, *_args, **_kwargs) -> None:
        self.statements += 1

    def request(self, client, method: str, path: str, kind: str, **kwargs):
        statements, cpu = self.statements, time.process_time()
        headers = {**HEADERS, **kwargs.pop("headers", {})}
        response = client.open(path, method=method, headers=headers, **kwargs)
        cost = self.costs[kind]
        cost[0] += 1
        cost[1] += time.process_time() - cpu
        cost[2] += self.statements - statements
        return response

    def get(self, client, path: str, kind: str):
        response = self.request(client, "GET", path, kind)
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code} for {path}")
        return response

    def post(self, client, path: str, fields: dict, kind: str, referer: str):
        return self.request(client, "POST", path, kind, data=fields,
                            headers={"Referer": f"https://localhost{referer}"})  # fmt: skip

    def fields(self, response, action: str) -> dict:
        return self.form_fields(response.get_data(as_text=True), action)

    def log_in(self, number: int):
        client = self.app.test_client()
        page = client.get("/login/", headers=HEADERS)
        fields = {**self.fields(page, "/login/"), "email": f"loadtest-member-{number}@example.com",
                  "password": os.environ["LOADTEST_PASSWORD"], "next": ""}  # fmt: skip
        headers = {**HEADERS, "Referer": "https://localhost/login/"}
        response = client.post("/login/", data=fields, headers=headers)
        if response.status_code not in (302, 303):
            raise SystemExit("login failed: run loadtest.accounts with this LOADTEST_PASSWORD")
        return client

    def browse(self, client, rnd: random.Random, tag: str) -> None:
        self.get(client, "/", "home" + tag)
        for _ in range(3):
            params = {"q": rnd.choice(WORDS)} if rnd.random() < 0.5 else {}
            if rnd.random() < 0.4:
                params["city"] = rnd.choice(self.cities)
            query = f"?{urlencode(params)}" if params else ""
            self.get(client, f"/events/{query}", "search" + tag)
        self.get(client, f"/cities/{rnd.choice(self.cities)}/", "city" + tag)
        self.get(client, f"/categories/{rnd.choice(CATEGORIES)}/", "category" + tag)
        for _ in range(4):
            self.get(client, f"/events/{rnd.choice(self.slugs)}/", "event" + tag)

    def book_and_cancel(self, client, slug: str) -> None:
        page = self.get(client, f"/events/{slug}/", "event [booker]")
        book = f"/events/{slug}/book/"
        response = self.post(client, book, {**self.fields(page, book), "quantity": "1"},
                             "POST book", f"/events/{slug}/")  # fmt: skip
        if response.status_code != 303:
            raise SystemExit(f"booking {slug}: {response.status_code}")
        booking = re.sub(r"^https?://[^/]+", "", response.headers["Location"])
        detail = self.get(client, booking, "GET booking")
        cancel = booking + "cancel/"
        confirm = self.request(client, "GET", cancel, "GET cancel confirm")  # (newer code)
        form = self.fields(confirm if confirm.status_code == 200 else detail, cancel)
        if self.post(client, cancel, form, "POST cancel", cancel).status_code != 303:
            raise SystemExit(f"cancelling {booking} failed")

    def run(self, rounds: int) -> None:
        rnd = random.Random(1)
        anonymous = self.app.test_client()
        members = [self.log_in(number) for number in range(1, 11)]
        for round_ in range(rounds):
            if round_ == 1:
                self.costs.clear()  # the first round warmed the caches
            for n, member in enumerate(members):
                self.browse(anonymous, rnd, "")
                self.browse(member, rnd, " [member]")
                self.get(member, "/me/bookings/", "my bookings")
                self.book_and_cancel(member, self.slugs[(round_ * 10 + n) % len(self.slugs)])

    def report(self) -> None:
        print(f"{'request':24} {'n':>5} {'CPU ms':>8} {'statements':>10}")
        total = [0, 0.0, 0]
        for kind, (n, cpu, statements) in sorted(self.costs.items()):
            print(f"{kind:24} {n:5} {cpu * 1000 / n:8.2f} {statements / n:10.1f}")
            total = [total[0] + n, total[1] + cpu, total[2] + statements]
        n, cpu, statements = total
        print(f"{'all':24} {n:5} {cpu * 1000 / n:8.2f} {statements / n:10.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    os.environ.update(
        EVENTMATE_CONFIG="production", SECRET_KEY=os.urandom(32).hex(),
        DATABASE_URL=os.environ["LOADTEST_DATABASE_URL"],
        REDIS_URL=os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/8"),
        REDIS_KEY_PREFIX=f"replay-{os.getpid()}:", PROXY_FIX_HOPS="1", SITE_HOSTS="localhost",
        MAIL_URL="smtp://127.0.0.1:2",  # never reached: nothing runs the queued tasks
        RATELIMIT_APPLICATION="",  # the edge's per-IP limit, as behind it
    )  # fmt: skip
    from eventmate import create_app
    from eventmate.extensions import db

    app = create_app()
    app.config["BOOKING_LIMIT"] = "1000 per minute"  # ten members book thirty times
    replay = Replay(app, db)
    replay.run(options.rounds)
    replay.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
