"""Rate limits beyond the default 100 requests/minute per client IP.

Failed logins are limited per IP and per account (a slow password-guessing run against one
account from many IPs is stopped too); registration and booking per IP. Limits come from
config so operators can tune them. The client IP is `request.remote_addr`, which ProxyFix sets
from X-Forwarded-For only for the configured number of proxy hops.
"""

from __future__ import annotations

from flask import current_app, request
from flask.wrappers import Response

from eventmate.extensions import limiter
from eventmate.models import normalise_email


def _setting(name: str):
    return lambda: current_app.config[name]


def _failed(response: Response) -> bool:
    """Only a refused login counts against the login limits."""
    return response.status_code == 400


def _account_key() -> str:
    return "account:" + normalise_email(request.form.get("email", ""))[:254]


login_per_ip = limiter.limit(
    _setting("LOGIN_LIMIT_PER_IP"), methods=["POST"], deduct_when=_failed, scope="login-ip"
)
login_per_account = limiter.limit(
    _setting("LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="login-account",
)
registration = limiter.limit(_setting("REGISTER_LIMIT"), methods=["POST"], scope="register")
booking = limiter.limit(_setting("BOOKING_LIMIT"), methods=["POST"], scope="booking")

