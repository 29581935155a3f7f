"""Local accounts: registering users, logging in, access/refresh/login tokens,
password changes and deactivation. Devices: :mod:`trioserver.accounts.devices`
(``Accounts.devices``)."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from dataclasses import dataclass

import trio
from argon2 import PasswordHasher

from trioserver.accounts import passwords, tokens
from trioserver.accounts.activity import DeviceActivity
from trioserver.accounts.devices import Devices
from trioserver.accounts.errors import (
    AccessTokenExpired,
    InvalidUserName,
    LoginFailed,
    UserDeactivated,
)
from trioserver.accounts.token_cache import TokenCache
from trioserver.accounts.uia import InteractiveAuth
from trioserver.db import Database
from trioserver.db import account_data as account_data_sql
from trioserver.db import accounts as sql
from trioserver.db import devices as devices_sql
from trioserver.db import profiles as profiles_sql
from trioserver.db import registration_tokens as reg_sql
from trioserver.util.blocking import BlockingRunner
from trioserver.util.clock import Clock

#: Localparts we let new users have (spec: appendices, "User Identifiers").
_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
_MAX_USER_ID_BYTES = 255
#: Longest password accepted (argon2 takes any length; this bounds the work).
MAX_PASSWORD_LENGTH = 512
#: Lifetime of a login token from POST /login/get_token (the spec's recommendation).
LOGIN_TOKEN_LIFETIME_MS = 120_000


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    device_id: str
    access_token: str
    #: Only for clients that asked for one (``refresh_token: true``).
    refresh_token: str | None = None
    #: The access token's lifetime; None: it does not expire.
    expires_in_ms: int | None = None


@dataclass(frozen=True, slots=True)
class _NewTokens:
    """Tokens made outside a transaction and stored inside one."""

    access_token: str
    refresh_token: str | None
    expires_ts: int | None
    expires_in_ms: int | None

    def store_txn(
        self, conn: sqlite3.Connection, user_id: str, device_id: str, now_ms: int
    ) -> None:
        refresh_hash = None
        if self.refresh_token is not None:
            refresh_hash = tokens.token_hash(self.refresh_token)
            sql.insert_refresh_token_txn(conn, refresh_hash, user_id, device_id, now_ms)
        sql.insert_access_token_txn(
            conn,
            tokens.token_hash(self.access_token),
            user_id,
            device_id,
            now_ms,
            self.expires_ts,
            refresh_hash,
        )

    def session(self, user_id: str, device_id: str) -> Session:
        return Session(
            user_id, device_id, self.access_token, self.refresh_token, self.expires_in_ms
        )


class Accounts:
    """Local accounts of one server."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        server_name: str,
        *,
        fast_password_hashing: bool = False,
        access_token_lifetime_ms: int = 300_000,
    ) -> None:
        self._db = db
        self._clock = clock
        self.server_name = server_name
        self.access_token_lifetime_ms = access_token_lifetime_ms
        self._hasher: PasswordHasher = (
            passwords.FAST if fast_password_hashing else passwords.PRODUCTION
        )
        # One hash at a time: each holds its memory-hard buffer while it runs
        # (~15 ms), and a small machine's memory runs out before its CPU.
        self._cpu = BlockingRunner(inline=db.inline, limiter=trio.CapacityLimiter(1))
        self._dummy_hash: str | None = None
        #: Devices' last-seen activity, written in batches.
        self.activity = DeviceActivity(db)
        #: Who holds which access token, between requests.
        self.token_owners = TokenCache()
        self.devices = Devices(db, self.activity, self.token_owners)
        #: User-interactive auth sessions.
        self.uia = InteractiveAuth(db, clock, self.check_password)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The accounts service: forgets registrations left pending by a previous
        run (their UIA sessions were in memory), then writes device activity."""
        await self._db.run_write(reg_sql.reset_pending_txn)
        task_status.started()
        await self.activity.run_flusher()

    # -- names -----------------------------------------------------------

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

    def user_id_to_register(self, username: str) -> str:
        """The user ID a client's ``username`` registers: the name in lower case
        (the spec lets the server map names "in a logical manner"); numeric
        names are kept for guests. Raises :class:`InvalidUserName`."""
        localpart = username.lower()
        if localpart.isdigit():
            raise InvalidUserName("numeric user IDs are reserved for guest accounts")
        if localpart.startswith("@"):
            raise InvalidUserName("give the user name without '@' and server name")
        return self.user_id_for(localpart)

    def _user_id_to_log_in(self, user: str) -> str:
        """A login's user (localpart or full ID, any case) as one of our user IDs."""
        if user.startswith("@"):
            localpart, _, domain = user[1:].partition(":")
            if domain != self.server_name:
                raise LoginFailed()
            user = localpart
        try:
            return self.user_id_for(user.lower())
        except InvalidUserName:
            raise LoginFailed() from None

    async def is_user_id_taken(self, user_id: str) -> bool:
        return await self._db.run_read(sql.user_exists_txn, user_id)

    async def get_user(self, user_id: str) -> sql.StoredUser | None:
        return await self._db.run_read(sql.get_user_txn, user_id)

    # -- passwords -------------------------------------------------------

    async def hash_password(self, password: str) -> str:
        return await self._cpu.run(passwords.hash_password, password, self._hasher)

    async def check_password(self, user: str, password: str) -> str:
        """The user ID of ``user`` (a localpart or full user ID) if ``password``
        is theirs; raises :class:`LoginFailed` or :class:`UserDeactivated`."""
        user_id = self._user_id_to_log_in(user)
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
        return user_id

    # -- registering -----------------------------------------------------

    def _new_tokens(self, login: bool, refresh: bool) -> _NewTokens | None:
        if not login:
            return None
        if not refresh:
            return _NewTokens(tokens.new_access_token(), None, None, None)
        lifetime = self.access_token_lifetime_ms
        expires_ts = self._clock.time_ms() + lifetime
        return _NewTokens(
            tokens.new_access_token(), tokens.new_refresh_token(), expires_ts, lifetime
        )

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
        also a device and an access token (see :meth:`create_user`)."""
        _, session = await self.create_user(
            localpart,
            password,
            admin=admin,
            login=login,
            device_id=device_id,
            device_display_name=device_display_name,
        )
        return session

    async def create_user(
        self,
        localpart: str | None,
        password: str | None,
        *,
        admin: bool = False,
        guest: bool = False,
        login: bool = True,
        refresh: bool = False,
        device_id: str | None = None,
        device_display_name: str | None = None,
        registration_token: str | None = None,
    ) -> tuple[str, Session | None]:
        """Create a user with their localpart as display name, and return their
        user ID. ``localpart`` None picks a free random one; a taken one raises
        :class:`sql.UserExists`. With ``login``, also a device and tokens (the
        session is returned); with ``registration_token``, the use it reserved
        becomes a completed one. All in one transaction."""
        password_hash = await self.hash_password(password) if password is not None else None
        new = self._new_tokens(login, refresh)
        device = device_id or tokens.new_device_id()
        now = self._clock.time_ms()

        def txn(conn: sqlite3.Connection, user_id: str) -> None:
            sql.create_user_txn(conn, user_id, password_hash, now, is_admin=admin, is_guest=guest)
            display_name = json.dumps(user_id[1:].split(":", 1)[0])
            profiles_sql.set_field_txn(conn, user_id, "displayname", display_name)
            if registration_token is not None:
                reg_sql.complete_use_txn(conn, registration_token)
            if new is not None:
                sql.upsert_device_txn(conn, user_id, device, device_display_name, now)
                new.store_txn(conn, user_id, device, now)

        while True:
            user_id = self.user_id_for(localpart or "u" + secrets.token_hex(6))
            try:
                await self._db.run_write(txn, user_id)
            except sql.UserExists:
                if localpart is None:
                    continue
                raise
            return user_id, (new.session(user_id, device) if new is not None else None)

    async def register_guest(self, device_display_name: str | None = None) -> Session:
        """A guest account with a numeric localpart and a fresh device."""
        while True:
            localpart = str(10**11 + secrets.randbelow(9 * 10**11))
            try:
                _, session = await self.create_user(
                    localpart, None, guest=True, device_display_name=device_display_name
                )
            except sql.UserExists:
                continue
            assert session is not None
            return session

    async def upgrade_guest(
        self,
        user_id: str,
        password: str,
        *,
        login: bool = True,
        refresh: bool = False,
        device_id: str | None = None,
        device_display_name: str | None = None,
        registration_token: str | None = None,
    ) -> Session | None:
        """Turn the guest ``user_id`` into a full account with ``password``
        (spec: "Guest Access", upgrading with ``guest_access_token``)."""
        password_hash = await self.hash_password(password)
        new = self._new_tokens(login, refresh)
        device = device_id or tokens.new_device_id()
        now = self._clock.time_ms()

        def txn(conn: sqlite3.Connection) -> None:
            if not sql.upgrade_guest_txn(conn, user_id, password_hash):
                raise sql.UserExists(user_id)
            if registration_token is not None:
                reg_sql.complete_use_txn(conn, registration_token)
            if new is not None:
                sql.upsert_device_txn(conn, user_id, device, device_display_name, now)
                new.store_txn(conn, user_id, device, now)

        await self.token_owners.write(self._db, txn)
        return new.session(user_id, device) if new is not None else None

    # -- logging in ------------------------------------------------------

    async def login_with_password(
        self,
        user: str,
        password: str,
        *,
        device_id: str | None = None,
        device_display_name: str | None = None,
        refresh: bool = False,
    ) -> Session:
        """Check the password of ``user`` (a localpart or full user ID) and open a
        session on ``device_id`` (a new device when None)."""
        user_id = await self.check_password(user, password)
        return await self.open_session(user_id, device_id, device_display_name, refresh=refresh)

    async def issue_login_token(
        self, user_id: str, lifetime_ms: int = LOGIN_TOKEN_LIFETIME_MS
    ) -> str:
        """A single-use ``m.login.token`` token logging in as ``user_id``,
        valid for ``lifetime_ms``."""
        token = tokens.new_login_token()
        now = self._clock.time_ms()
        await self._db.run_write(
            sql.insert_login_token_txn, tokens.token_hash(token), user_id, now, now + lifetime_ms
        )
        return token

    async def login_with_token(
        self,
        login_token: str,
        *,
        device_id: str | None = None,
        device_display_name: str | None = None,
        refresh: bool = False,
    ) -> Session:
        """Spend a login token (see :meth:`issue_login_token`) on a new session;
        raises :class:`LoginFailed` or :class:`UserDeactivated`."""
        user_id = await self._db.run_write(
            sql.consume_login_token_txn, tokens.token_hash(login_token), self._clock.time_ms()
        )
        if user_id is None:
            raise LoginFailed()
        stored = await self._db.run_read(sql.get_user_txn, user_id)
        if stored is None or stored.deactivated:
            raise UserDeactivated()
        return await self.open_session(user_id, device_id, device_display_name, refresh=refresh)

    async def open_session(
        self,
        user_id: str,
        device_id: str | None = None,
        device_display_name: str | None = None,
        *,
        refresh: bool = False,
    ) -> Session:
        """New tokens for ``user_id`` on ``device_id`` (created if new). Reusing
        a device ID (a client recovering from a soft logout) invalidates the
        tokens that device held before (spec: "Relationship between access
        tokens and devices")."""
        new = self._new_tokens(True, refresh)
        assert new is not None
        device = device_id or tokens.new_device_id()
        now = self._clock.time_ms()

        def txn(conn: sqlite3.Connection) -> None:
            if device_id is not None:
                sql.delete_access_tokens_of_device_txn(conn, user_id, device)
            sql.upsert_device_txn(conn, user_id, device, device_display_name, now)
            new.store_txn(conn, user_id, device, now)

        if device_id is not None:  # the device's earlier tokens went
            await self.token_owners.write(self._db, txn)
        else:
            await self._db.run_write(txn)
        return new.session(user_id, device)

    # -- using tokens ----------------------------------------------------

    async def authenticate(
        self, access_token: str, *, ip: str | None = None, user_agent: str | None = None
    ) -> sql.TokenOwner | None:
        """Who holds ``access_token``, or None if it is unknown or the user is
        deactivated; raises :class:`AccessTokenExpired` for an expired one.
        Records the device's activity (``ip``, ``user_agent``) in memory."""
        token_hash = tokens.token_hash(access_token)
        owner = self.token_owners.get(token_hash)
        if owner is None:
            owner = self._db.read_now(sql.lookup_access_token_txn, token_hash)
            if owner is not None and not owner.completes_rotation:
                self.token_owners.put(token_hash, owner)
        if owner is None or owner.deactivated:
            return None
        now = self._clock.time_ms()
        if owner.expires_ts is not None and owner.expires_ts <= now:
            raise AccessTokenExpired()
        if owner.completes_rotation and owner.refresh_token_hash is not None:
            await self.token_owners.write(
                self._db, sql.complete_rotation_txn, owner.refresh_token_hash
            )
        self.activity.record(owner.user_id, owner.device_id, now, ip, user_agent)
        return owner

    async def refresh(self, refresh_token: str) -> Session | None:
        """A new access token and refresh token for ``refresh_token`` (None if it
        is unknown or was revoked). See :func:`sql.rotate_refresh_token_txn`."""
        new = self._new_tokens(True, True)
        assert new is not None and new.refresh_token is not None and new.expires_ts is not None
        refreshed = await self.token_owners.write(
            self._db,
            sql.rotate_refresh_token_txn,
            tokens.token_hash(refresh_token),
            tokens.token_hash(new.refresh_token),
            tokens.token_hash(new.access_token),
            self._clock.time_ms(),
            new.expires_ts,
        )
        if refreshed is None:
            return None
        return new.session(refreshed.user_id, refreshed.device_id)

    # -- account management ----------------------------------------------

    async def change_password(
        self, user_id: str, new_password: str, *, logout_devices: bool, keep_device: str | None
    ) -> None:
        """Set ``user_id``'s password; with ``logout_devices``, delete every
        device but ``keep_device`` (the requester's) and their tokens."""
        password_hash = await self.hash_password(new_password)
        deleted: list[str] = []

        def txn(conn: sqlite3.Connection) -> None:
            sql.set_password_hash_txn(conn, user_id, password_hash)
            if logout_devices:
                others = [d for d in devices_sql.device_ids_txn(conn, user_id) if d != keep_device]
                devices_sql.delete_devices_txn(conn, user_id, others)
                deleted.extend(others)

        await self.token_owners.write(self._db, txn)
        self.activity.forget(user_id, deleted)

    async def deactivate(self, user_id: str, *, erase: bool = False) -> None:
        """Deactivate ``user_id`` for good: every device and token goes, the
        profile is emptied, login is refused from now on (``M_USER_DEACTIVATED``);
        with ``erase``, account data goes too (spec: "Account deactivation")."""

        def txn(conn: sqlite3.Connection) -> list[str]:
            sql.mark_deactivated_txn(conn, user_id)
            devices = devices_sql.device_ids_txn(conn, user_id)
            devices_sql.delete_devices_txn(conn, user_id, devices)
            sql.delete_login_tokens_of_user_txn(conn, user_id)
            profiles_sql.delete_profile_txn(conn, user_id)
            if erase:
                account_data_sql.delete_user_account_data_txn(conn, user_id)
            return devices

        deleted = await self.token_owners.write(self._db, txn)
        self.activity.forget(user_id, deleted)
