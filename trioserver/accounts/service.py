"""Registering local users and issuing and checking their access tokens."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from argon2 import PasswordHasher

from trioserver.accounts import passwords, tokens
from trioserver.db import Database
from trioserver.db import accounts as sql
from trioserver.util.blocking import BlockingRunner
from trioserver.util.clock import Clock

#: Localparts we let new users have (spec: appendices, "User Identifiers").
_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
_MAX_USER_ID_BYTES = 255


class InvalidUserName(ValueError):
    """The requested user name is not allowed."""


class LoginFailed(Exception):
    """Wrong user or password (deliberately not saying which)."""


class UserDeactivated(Exception):
    """The account exists but was deactivated."""


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    device_id: str
    access_token: str


class Accounts:
    """Local accounts of one server."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        server_name: str,
        *,
        fast_password_hashing: bool = False,
    ) -> None:
        self._db = db
        self._clock = clock
        self.server_name = server_name
        self._hasher: PasswordHasher = (
            passwords.FAST if fast_password_hashing else passwords.PRODUCTION
        )
        self._cpu = BlockingRunner(inline=db.inline)
        self._dummy_hash: str | None = None

    def user_id_for(self, localpart: str) -> str:
        """The full user ID for a new user's ``localpart``; raises :class:`InvalidUserName`."""
        if localpart.startswith("@"):
            localpart = localpart[1:].split(":", 1)[0]
        if not localpart or not _LOCALPART.match(localpart):
            raise InvalidUserName(
                "user names may contain only a-z, 0-9, and the characters . _ = - / +"
            )
        user_id = f"@{localpart}:{self.server_name}"
        if len(user_id.encode()) > _MAX_USER_ID_BYTES:
            raise InvalidUserName("user ID would be longer than 255 bytes")
        return user_id

    async def hash_password(self, password: str) -> str:
        return await self._cpu.run(passwords.hash_password, password, self._hasher)

    async def register(
        self,
        localpart: str,
        password: str | None,
        *,
        admin: bool = False,
        login: bool = True,
        device_id: str | None = None,
        device_display_name: str | None = None,
    ) -> Session | None:
        """Create a user (raises :class:`sql.UserExists` if taken); when ``login``,
        also a device and an access token, in the same transaction."""
        user_id = self.user_id_for(localpart)
        password_hash = await self.hash_password(password) if password is not None else None
        access_token = tokens.new_access_token() if login else None
        device = device_id or tokens.new_device_id()
        now = self._clock.time_ms()

        def txn(conn: sqlite3.Connection) -> None:
            sql.create_user_txn(conn, user_id, password_hash, now, is_admin=admin)
            if access_token is not None:
                sql.upsert_device_txn(conn, user_id, device, device_display_name, now)
                sql.insert_access_token_txn(
                    conn, tokens.token_hash(access_token), user_id, device, now
                )

        await self._db.run_write(txn)
        return Session(user_id, device, access_token) if access_token else None

    async def login_with_password(
        self,
        user: str,
        password: str,
        *,
        device_id: str | None = None,
        device_display_name: str | None = None,
    ) -> Session:
        """Check the password of ``user`` (a localpart or full user ID) and open a
        session on ``device_id`` (a new device when None)."""
        try:
            user_id = self.user_id_for(user) if not user.startswith("@") else user
        except InvalidUserName:
            raise LoginFailed() from None
        stored = await self._db.run_read(sql.get_user_txn, user_id)
        if stored is None or stored.password_hash is None:
            # Spend the same time as a real check, so timing tells nothing.
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash_password("not anybody's password")
            await self._cpu.run(passwords.verify_password, self._dummy_hash, password)
            raise LoginFailed()
        if not await self._cpu.run(passwords.verify_password, stored.password_hash, password):
            raise LoginFailed()
        if stored.deactivated:
            raise UserDeactivated()
        return await self.open_session(user_id, device_id, device_display_name)

    async def open_session(
        self, user_id: str, device_id: str | None = None, device_display_name: str | None = None
    ) -> Session:
        """A new access token for ``user_id`` on ``device_id`` (created if new)."""
        access_token = tokens.new_access_token()
        device = device_id or tokens.new_device_id()
        now = self._clock.time_ms()

        def txn(conn: sqlite3.Connection) -> None:
            sql.upsert_device_txn(conn, user_id, device, device_display_name, now)
            sql.insert_access_token_txn(conn, tokens.token_hash(access_token), user_id, device, now)

        await self._db.run_write(txn)
        return Session(user_id, device, access_token)

    async def authenticate(self, access_token: str) -> sql.TokenOwner | None:
        """Who holds ``access_token``, or None if it is unknown, expired or deactivated."""
        owner = await self._db.run_read(
            sql.lookup_access_token_txn, tokens.token_hash(access_token)
        )
        if owner is None or owner.deactivated:
            return None
        if owner.expires_ts is not None and owner.expires_ts <= self._clock.time_ms():
            return None
        return owner
