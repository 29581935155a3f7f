"""Rate limiting of client actions: ``429 M_LIMIT_EXCEEDED`` with
``retry_after_ms`` and a ``Retry-After`` header (spec: "Rate limiting").

Token buckets (:mod:`trioserver.util.ratelimit`) per action and per key (a
user ID or a client IP) on the trio clock, so limits are exact under
``MockClock``. The rates come from the configuration (``rate_limit_*``); the
``rate_limits`` option (``--no-rate-limits``) turns everything off.

Handlers call :func:`rate_limit` before acting, for instance::

    owner = await require_user()
    rate_limit("message", user_id=owner.user_id)   # PUT .../send/...
    rate_limit("join", user_id=owner.user_id)      # join, knock
    rate_limit("invite", user_id=owner.user_id)    # invite
"""

from __future__ import annotations

import math
from typing import Literal

import trio

from trioserver.api.context import services
from trioserver.config import Config
from trioserver.protocol.errors import MatrixError
from trioserver.util.ratelimit import Rate

Action = Literal[
    "login",
    "registration",
    "message",
    "join",
    "invite",
    "get_login_token",
    "registration_token_validity",
]

#: Fixed rates of actions that have no option: the spec asks for about one
#: login token a minute, and guessing registration tokens must stay slow.
_FIXED_RATES: dict[str, Rate] = {
    "get_login_token": Rate(1 / 60, 1),
    "registration_token_validity": Rate(0.1, 5),
}


class RateLimited(MatrixError):
    """429 ``M_LIMIT_EXCEEDED``; the app adds the ``Retry-After`` header."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_ms = max(1, math.ceil(retry_after_s * 1000))
        super().__init__(
            "M_LIMIT_EXCEEDED", "Too many requests", retry_after_ms=self.retry_after_ms
        )

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up (RFC 9110 ``delay-seconds``)."""
        return str(math.ceil(self.retry_after_ms / 1000))


def _keys(user_id: str | None, ip: str | None) -> list[str]:
    keys = [f"user:{user_id}"] if user_id is not None else []
    if ip is not None:
        keys.append(f"ip:{ip}")
    return keys


def rate_of(config: Config, action: Action) -> Rate:
    fixed = _FIXED_RATES.get(action)
    if fixed is not None:
        return fixed
    per_second, burst = getattr(config, f"rate_limit_{action}")
    return Rate(per_second, burst)


def rate_limit(
    action: Action,
    *,
    user_id: str | None = None,
    ip: str | None = None,
    update: bool = True,
) -> None:
    """Count one ``action`` against the bucket of each key given (the user,
    the client IP), or raise :class:`RateLimited` if any bucket is empty (then
    nothing is counted). With ``update=False`` only look: for actions counted
    once they have succeeded (see :func:`count_action`)."""
    svc = services()
    if not svc.config.rate_limits:
        return
    keys = _keys(user_id, ip)
    rate = rate_of(svc.config, action)
    now = trio.current_time()
    limiter = svc.rate_limiter
    wait = max((limiter.wait_time(action, key, rate, now) for key in keys), default=0.0)
    if wait > 0:
        raise RateLimited(wait)
    if update:
        for key in keys:
            limiter.try_take(action, key, rate, now)


def count_action(action: Action, *, user_id: str | None = None, ip: str | None = None) -> None:
    """Count an ``action`` that already happened (after ``rate_limit(update=False)``)."""
    svc = services()
    if not svc.config.rate_limits:
        return
    rate = rate_of(svc.config, action)
    now = trio.current_time()
    for key in _keys(user_id, ip):
        svc.rate_limiter.take(action, key, rate, now)
