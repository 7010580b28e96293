"""Rate limits beyond the site-wide budget per client (RATELIMIT_APPLICATION).

Sign-in attempts slow a guesser down without handing strangers a way to lock an owner out:
- per client (an IP, an IPv6 /64; eventmate/security/clients.py): LOGIN_LIMIT_PER_IP attempts,
  whatever the accounts;
- per account *and* client: LOGIN_LIMIT_PER_ACCOUNT attempts, then that client gets 429 for
  that account; a successful sign-in starts its count again. Another client, the owner's, is
  unaffected;
- per account, from all clients together: past LOGIN_ACCOUNT_CEILING failures every attempt on
  the account waits LOGIN_SLOWDOWN_SECONDS before the password is checked. It is delayed, never
  refused: a correct password from a client that hasn't been failing still signs in.
Each attempt is counted *before* its password is checked, in one atomic step per budget, so
attempts sent all at once can't each find the budget still open. Registration, booking and
asking for a password reset are limited per client by Flask-Limiter's decorators; reset emails
also per address, and sending the confirmation link again and changing the address per account
too.
"""

from __future__ import annotations

import time
from contextlib import suppress

from flask import current_app
from flask_login import current_user
from limits import parse
from redis.exceptions import RedisError

from eventmate.extensions import limiter
from eventmate.models import normalise_email
from eventmate.security.clients import client_key

ACCOUNT_CEILING_SCOPE = "login-account-ceiling"
RESET_ADDRESS_SCOPE = "password-reset-address"


def _setting(name: str):
    return lambda: current_app.config[name]


def _account(email: str) -> str:
    return normalise_email(email)[:254]


def _budgets(email: str) -> list[tuple[str, tuple[str, ...]]]:
    """(setting, identifiers) of each budget a sign-in attempt spends."""
    client = client_key()
    return [
        ("LOGIN_LIMIT_PER_IP", ("login-ip", client)),
        ("LOGIN_LIMIT_PER_ACCOUNT", ("login-account", _account(email), client)),
    ]


def _enabled() -> bool:
    return limiter.enabled and current_app.config.get("RATELIMIT_ENABLED", True)


def admit_login_attempt(email: str) -> int | None:
    """Spend one attempt from each of the client's budgets; None if every one had room, else
    the seconds until the exhausted one refills (the 429's Retry-After)."""
    if not _enabled():
        return None
    strategy = limiter.limiter
    try:
        for setting, identifiers in _budgets(email):
            budget = parse(current_app.config[setting])
            if not strategy.hit(budget, *identifiers):
                reset_at = strategy.get_window_stats(budget, *identifiers).reset_time
                return max(1, int(reset_at - time.time()))
    except RedisError:  # limits unreachable: sign-in itself answers 503 then
        return None
    return None


def login_succeeded(email: str) -> None:
    """The owner signed in: this client's count for the account starts again."""
    if not _enabled():
        return
    setting, identifiers = _budgets(email)[1]
    with suppress(RedisError):
        limiter.limiter.clear(parse(current_app.config[setting]), *identifiers)


# Only a registration that went through counts (its "check your inbox" page, the same for a
# known address): a person correcting their form is not signing up again.
registration = limiter.limit(
    _setting("REGISTER_LIMIT"),
    methods=["POST"],
    scope="register",
    deduct_when=lambda response: response.status_code < 400,
)
booking = limiter.limit(_setting("BOOKING_LIMIT"), methods=["POST"], scope="booking")
password_reset = limiter.limit(
    _setting("PASSWORD_RESET_LIMIT_PER_IP"), methods=["POST"], scope="password-reset"
)


def _member() -> str:
    return f"member:{getattr(current_user, 'id', None)}"


# Sending the confirmation link again: per client and per account (it's for signed-in members).
verify_resend = limiter.limit(_setting("VERIFY_RESEND_LIMIT"), scope="verify-resend")
verify_resend_per_account = limiter.limit(
    _setting("VERIFY_RESEND_LIMIT"), key_func=_member, scope="verify-resend-account"
)


# The account page (eventmate/account/). Moving to a new address sends email: per client and
# per account, counting only requests that went through (their "check your inbox" page), as
# for registration. A form that checks the current password counts each refusal per account
# with the sign-in budget, so a borrowed session can't be used to guess the password.
email_change = limiter.limit(
    _setting("EMAIL_CHANGE_LIMIT"),
    methods=["POST"],
    scope="email-change",
    deduct_when=lambda response: response.status_code < 400,
)
email_change_per_account = limiter.limit(
    _setting("EMAIL_CHANGE_LIMIT"),
    methods=["POST"],
    key_func=_member,
    scope="email-change-account",
    deduct_when=lambda response: response.status_code < 400,
)
password_checks = limiter.limit(
    _setting("LOGIN_LIMIT_PER_ACCOUNT"),
    methods=["POST"],
    key_func=_member,
    scope="account-password",
    deduct_when=lambda response: response.status_code >= 400,
)


def spend_reset_email(email: str) -> bool:
    """One reset email from the address's budget (PASSWORD_RESET_LIMIT_PER_ADDRESS): False when
    it is spent. Counted for every address asked about, with an account or not, and the page
    answers the same either way: the budget can't tell which addresses have accounts."""
    if not _enabled():
        return True
    budget = parse(current_app.config["PASSWORD_RESET_LIMIT_PER_ADDRESS"])
    try:
        return limiter.limiter.hit(budget, RESET_ADDRESS_SCOPE, _account(email))
    except RedisError:  # limits unreachable: the owner still gets their link
        return True


def slow_down_if_targeted(email: str) -> bool:
    """Before checking a password: wait if the account is past its ceiling of failures."""
    if not _enabled():
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
    if not _enabled():
        return
    ceiling = parse(current_app.config["LOGIN_ACCOUNT_CEILING"])
    with suppress(RedisError):
        limiter.limiter.hit(ceiling, ACCOUNT_CEILING_SCOPE, _account(email))
