"""Rate limits beyond the site-wide budget per client (RATELIMIT_APPLICATION).

Failed logins. A guesser is slowed down without handing strangers a way to lock an owner out:
- per client (an IP, an IPv6 /64; eventmate/security/clients.py): LOGIN_LIMIT_PER_IP failures,
  whatever the accounts;
- per account *and* client: LOGIN_LIMIT_PER_ACCOUNT failures, then that client gets 429 for
  that account. Another client, the owner's, is unaffected;
- per account, from all clients together: past LOGIN_ACCOUNT_CEILING failures every attempt on
  the account waits LOGIN_SLOWDOWN_SECONDS before the password is checked. It is delayed, never
  refused: a correct password from a client that hasn't been failing still signs in.
Only a refused login (400) counts. Registration and booking are limited per client.
"""

from __future__ import annotations

import time
from contextlib import suppress

from flask import current_app, request
from flask.wrappers import Response
from limits import parse
from redis.exceptions import RedisError

from eventmate.extensions import limiter
from eventmate.models import normalise_email
from eventmate.security.clients import client_key

ACCOUNT_CEILING_SCOPE = "login-account-ceiling"


def _setting(name: str):
    return lambda: current_app.config[name]


def _failed(response: Response) -> bool:
    """Only a refused login counts against the login limits."""
    return response.status_code == 400


def _account(email: str) -> str:
    return normalise_email(email)[:254]


def _account_and_client_key() -> str:
    return f"account:{_account(request.form.get('email', ''))}|client:{client_key()}"


login_per_ip = limiter.limit(
    _setting("LOGIN_LIMIT_PER_IP"), methods=["POST"], deduct_when=_failed, scope="login-ip"
)
login_per_account = limiter.limit(
    _setting("LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_account_and_client_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="login-account",
)
registration = limiter.limit(_setting("REGISTER_LIMIT"), methods=["POST"], scope="register")
booking = limiter.limit(_setting("BOOKING_LIMIT"), methods=["POST"], scope="booking")


def _ceiling_enabled() -> bool:
    return limiter.enabled and current_app.config.get("RATELIMIT_ENABLED", True)


def slow_down_if_targeted(email: str) -> bool:
    """Before checking a password: wait if the account is past its ceiling of failures."""
    if not _ceiling_enabled():
        return False
    ceiling = parse(current_app.config["LOGIN_ACCOUNT_CEILING"])
    try:
        targeted = not limiter.limiter.test(ceiling, ACCOUNT_CEILING_SCOPE, _account(email))
    except RedisError:  # limits unreachable and no fallback yet: don't punish the owner
        return False
    if targeted:
        time.sleep(current_app.config["LOGIN_SLOWDOWN_SECONDS"])
    return targeted


def count_failed_login(email: str) -> None:
    """A wrong password for `email`, from anywhere: towards the account's ceiling."""
    if not _ceiling_enabled():
        return
    ceiling = parse(current_app.config["LOGIN_ACCOUNT_CEILING"])
    with suppress(RedisError):
        limiter.limiter.hit(ceiling, ACCOUNT_CEILING_SCOPE, _account(email))
