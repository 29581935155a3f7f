"""SQL of to-device messages (``to_device_messages``, ``to_device_txns``)
and the to-device stream.

Contract: a message takes the next to-device stream position when it is
stored; it stays until its device syncs with a ``since`` at or past that
position (:func:`delete_delivered_txn`), so a lost ``/sync`` response is
delivered again. Positions are never reused (AUTOINCREMENT).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ToDeviceMessage:
    stream_pos: int
    sender: str
    type: str
    content_json: str


def to_device_position_txn(conn: sqlite3.Connection) -> int:
    """The position of the newest message ever stored (0 before the first)."""
    row = conn.execute(
        "SELECT seq FROM sqlite_sequence WHERE name = 'to_device_messages'"
    ).fetchone()
    return int(row[0]) if row is not None else 0


def claim_txn_id_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, txn_id: str, now_ms: int
) -> bool:
    """Record a ``/sendToDevice`` transaction ID; False if it was seen before."""
    cursor = conn.execute(
        "INSERT INTO to_device_txns (user_id, device_id, txn_id, created_ts) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (user_id, device_id, txn_id, now_ms),
    )
    return cursor.rowcount == 1


def device_ids_txn(conn: sqlite3.Connection, user_id: str) -> list[str]:
    return [
        str(row[0])
        for row in conn.execute(
            "SELECT device_id FROM devices WHERE user_id = ? ORDER BY device_id", (user_id,)
        )
    ]


def add_messages_txn(
    conn: sqlite3.Connection,
    sender: str,
    event_type: str,
    messages: Iterable[tuple[str, str, str]],
) -> int:
    """Store ``(user_id, device_id, content_json)`` messages; returns the
    position of the last one (or the current position if there were none)."""
    conn.executemany(
        "INSERT INTO to_device_messages (user_id, device_id, sender, type, content)"
        " VALUES (?, ?, ?, ?, ?)",
        [(user, device, sender, event_type, content) for user, device, content in messages],
    )
    return to_device_position_txn(conn)


def messages_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, after: int, upto: int, limit: int
) -> list[ToDeviceMessage]:
    """The device's messages with ``after < stream_pos <= upto``, oldest first."""
    rows = conn.execute(
        "SELECT stream_pos, sender, type, content FROM to_device_messages"
        " WHERE user_id = ? AND device_id = ? AND stream_pos > ? AND stream_pos <= ?"
        " ORDER BY stream_pos LIMIT ?",
        (user_id, device_id, after, upto, limit),
    )
    return [ToDeviceMessage(int(p), str(s), str(t), str(c)) for p, s, t, c in rows]


def has_delivered_txn(conn: sqlite3.Connection, user_id: str, device_id: str, upto: int) -> bool:
    """Whether the device holds messages at or before ``upto`` (a read, so
    that a sync with nothing to acknowledge costs no write)."""
    row = conn.execute(
        "SELECT 1 FROM to_device_messages WHERE user_id = ? AND device_id = ? AND stream_pos <= ?"
        " LIMIT 1",
        (user_id, device_id, upto),
    ).fetchone()
    return row is not None


def delete_delivered_txn(conn: sqlite3.Connection, user_id: str, device_id: str, upto: int) -> int:
    """Delete the device's messages at or before ``upto`` (acknowledged by a
    ``since`` at ``upto``); returns how many."""
    cursor = conn.execute(
        "DELETE FROM to_device_messages WHERE user_id = ? AND device_id = ? AND stream_pos <= ?",
        (user_id, device_id, upto),
    )
    return cursor.rowcount
