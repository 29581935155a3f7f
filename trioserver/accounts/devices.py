"""A user's devices: listing (with last-seen activity not yet written),
renaming, deleting (with their tokens and everything else per device)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from trioserver.accounts.activity import DeviceActivity
from trioserver.accounts.token_cache import TokenCache
from trioserver.db import Database
from trioserver.db import devices as sql
from trioserver.db.devices import StoredDevice

log = logging.getLogger(__name__)

#: Longest device display name accepted.
MAX_DISPLAY_NAME_LENGTH = 100


class Devices:
    def __init__(self, db: Database, activity: DeviceActivity, token_owners: TokenCache) -> None:
        self._db = db
        self._activity = activity
        self._token_owners = token_owners
        #: Called after devices of a user were deleted (committed): the
        #: composition root points it at the device-list notifier, so the
        #: users watching that device list hear of it.
        self.on_deleted: Callable[[str], Awaitable[None]] | None = None

    async def _deleted(self, user_id: str) -> None:
        if self.on_deleted is not None:
            try:
                await self.on_deleted(user_id)
            except Exception:
                log.exception("device deletion hook failed for %s", user_id)

    def _with_activity(self, device: StoredDevice) -> StoredDevice:
        seen = self._activity.pending(device.user_id, device.device_id)
        if seen is None:
            return device
        return replace(
            device,
            last_seen_ts=seen.ts,
            last_seen_ip=seen.ip,
            last_seen_user_agent=seen.user_agent,
        )

    async def list(self, user_id: str) -> list[StoredDevice]:
        devices = await self._db.run_read(sql.list_devices_txn, user_id)
        return [self._with_activity(device) for device in devices]

    async def get(self, user_id: str, device_id: str) -> StoredDevice | None:
        device = await self._db.run_read(sql.get_device_txn, user_id, device_id)
        return None if device is None else self._with_activity(device)

    async def rename(self, user_id: str, device_id: str, display_name: str) -> bool:
        """False if ``user_id`` has no device ``device_id``."""
        return await self._db.run_write(sql.set_display_name_txn, user_id, device_id, display_name)

    async def delete(self, user_id: str, device_ids: Sequence[str]) -> None:
        """Delete devices of ``user_id`` with their tokens (see
        :func:`sql.delete_devices_txn`); unknown IDs are ignored."""
        await self._token_owners.write(self._db, sql.delete_devices_txn, user_id, list(device_ids))
        self._activity.forget(user_id, list(device_ids))
        await self._deleted(user_id)

    async def delete_all(self, user_id: str) -> None:
        """Every device of ``user_id`` (``/logout/all``)."""

        def txn(conn: sqlite3.Connection) -> list[str]:
            ids = sql.device_ids_txn(conn, user_id)
            sql.delete_devices_txn(conn, user_id, ids)
            return ids

        deleted = await self._token_owners.write(self._db, txn)
        self._activity.forget(user_id, deleted)
        if deleted:
            await self._deleted(user_id)
