"""Registration tokens (spec: "Token-authenticated registration"): made by the
admin (``trioserver registration-token create``), checked by
``GET /register/m.login.registration_token/validity`` and spent by the
``m.login.registration_token`` UIA stage (:mod:`trioserver.accounts.uia`)."""

from __future__ import annotations

from trioserver.accounts import tokens
from trioserver.db import Database
from trioserver.db import registration_tokens as sql
from trioserver.db.registration_tokens import RegistrationToken, TokenExists
from trioserver.util.clock import Clock

__all__ = ["RegistrationToken", "TokenExists", "create_token", "is_token_valid", "list_tokens"]

DAY_MS = 24 * 60 * 60 * 1000


async def create_token(
    db: Database,
    clock: Clock,
    *,
    uses_allowed: int | None = None,
    expires_in_days: float | None = None,
) -> RegistrationToken:
    """A new random token, usable ``uses_allowed`` times (None: any number)
    until ``expires_in_days`` from now (None: forever)."""
    expiry = None
    if expires_in_days is not None:
        expiry = clock.time_ms() + round(expires_in_days * DAY_MS)
    while True:
        try:
            return await db.run_write(
                sql.create_token_txn, tokens.new_registration_token(), uses_allowed, expiry
            )
        except TokenExists:
            continue


async def list_tokens(db: Database) -> list[RegistrationToken]:
    return await db.run_read(sql.list_tokens_txn)


async def is_token_valid(db: Database, clock: Clock, token: str) -> bool:
    """Whether ``token`` could register an account now (false if unknown)."""
    if not tokens.is_valid_registration_token(token):
        return False
    found = await db.run_read(sql.get_token_txn, token)
    return found is not None and found.is_valid(clock.time_ms())
