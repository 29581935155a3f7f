"""SQL of ``sync_lazy_members``: which member event of each room member was
last sent to a device (lazy-loading members, spec "Lazy-loading room members")."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable

from trioserver.db.roomserver_nids import json_array


def sent_members_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, room_id: str, members: Collection[str]
) -> dict[str, str]:
    """``member_id -> event_id`` last sent to the device, for ``members``."""
    if not members:
        return {}
    rows = conn.execute(
        "SELECT member_id, event_id FROM sync_lazy_members"
        " WHERE user_id = ? AND device_id = ? AND room_id = ?"
        " AND member_id IN (SELECT value FROM json_each(?))",
        (user_id, device_id, room_id, json_array(sorted(members))),
    )
    return {str(m): str(e) for m, e in rows}


def remember_members_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, rows: Iterable[tuple[str, str, str]]
) -> None:
    """Record ``(room_id, member_id, event_id)`` as sent to the device."""
    conn.executemany(
        "INSERT INTO sync_lazy_members (user_id, device_id, room_id, member_id, event_id)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, device_id, room_id, member_id)"
        " DO UPDATE SET event_id = excluded.event_id",
        [(user_id, device_id, room, member, event) for room, member, event in rows],
    )


def forget_device_txn(conn: sqlite3.Connection, user_id: str, device_id: str) -> None:
    """An initial sync: the device remembers nothing."""
    conn.execute(
        "DELETE FROM sync_lazy_members WHERE user_id = ? AND device_id = ?", (user_id, device_id)
    )
