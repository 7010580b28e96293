"""`flask` command groups. Commands parse options and call services."""

from eventmate.cli.seed import seed_cli
from eventmate.cli.users import users_cli

__all__ = ["seed_cli", "users_cli"]
