"""`flask` command groups. Commands parse options and call services."""

from eventmate.cli.cache import cache_cli
from eventmate.cli.events import bookings_cli, events_cli
from eventmate.cli.jobs import jobs_cli
from eventmate.cli.seed import seed_cli
from eventmate.cli.users import users_cli

__all__ = ["bookings_cli", "cache_cli", "events_cli", "jobs_cli", "seed_cli", "users_cli"]
