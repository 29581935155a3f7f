"""SQL for ``devices``: listing, renaming, last-seen, and deleting devices with
everything that belongs to them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trioserver.db import e2e_keys


@dataclass(frozen=True, slots=True)
class StoredDevice:
    user_id: str
    device_id: str
    display_name: str | None
    created_ts: int
    last_seen_ts: int | None
    last_seen_ip: str | None
    last_seen_user_agent: str | None


@dataclass(frozen=True, slots=True)
class LastSeen:
    """One device's latest activity, as the activity tracker flushes it."""

    user_id: str
    device_id: str
    ts: int
    ip: str | None
    user_agent: str | None


_COLUMNS = (
    "user_id, device_id, display_name, created_ts, last_seen_ts, last_seen_ip, last_seen_user_agent"
)


def _device(row: tuple[Any, ...]) -> StoredDevice:
    return StoredDevice(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


def list_devices_txn(conn: sqlite3.Connection, user_id: str) -> list[StoredDevice]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM devices WHERE user_id = ? ORDER BY device_id", (user_id,)
    ).fetchall()
    return [_device(row) for row in rows]


def get_device_txn(conn: sqlite3.Connection, user_id: str, device_id: str) -> StoredDevice | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM devices WHERE user_id = ? AND device_id = ?",
        (user_id, device_id),
    ).fetchone()
    return None if row is None else _device(row)


def set_display_name_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, display_name: str
) -> bool:
    """Rename a device; False if the user has no such device."""
    cursor = conn.execute(
        "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
        (display_name, user_id, device_id),
    )
    return cursor.rowcount == 1


def update_last_seen_txn(conn: sqlite3.Connection, seen: Iterable[LastSeen]) -> None:
    """Write the latest activity of devices (deleted devices are skipped)."""
    conn.executemany(
        "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?, last_seen_user_agent = ?"
        " WHERE user_id = ? AND device_id = ? AND coalesce(last_seen_ts, 0) <= ?",
        [(s.ts, s.ip, s.user_agent, s.user_id, s.device_id, s.ts) for s in seen],
    )


def device_ids_txn(conn: sqlite3.Connection, user_id: str) -> list[str]:
    rows = conn.execute("SELECT device_id FROM devices WHERE user_id = ?", (user_id,))
    return [str(row[0]) for row in rows]


def delete_devices_txn(conn: sqlite3.Connection, user_id: str, device_ids: Sequence[str]) -> None:
    """Delete devices of ``user_id`` and everything that belongs to them.

    The one place a device goes away (logout, logout/all, DELETE /devices,
    password change, deactivation), so whatever else is stored per device
    (end-to-end keys, one-time keys, to-device messages, ...) is deleted
    here, in the same transaction: add those tables below.
    Unknown device IDs are ignored.
    """
    e2e_keys.delete_device_keys_txn(conn, user_id, list(device_ids))
    params = [(user_id, device_id) for device_id in device_ids]
    conn.executemany("DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", params)
    conn.executemany("DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ?", params)
    conn.executemany("DELETE FROM devices WHERE user_id = ? AND device_id = ?", params)
