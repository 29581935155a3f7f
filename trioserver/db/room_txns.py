"""SQL of ``room_txn_ids``: transaction IDs of event-sending requests (spec:
"Transaction identifiers": scoped to a device and an endpoint path).

A row is written by the roomserver in the same transaction as the event it
names (:func:`record_txn_txn`), so an acknowledged event always has its row
and a retry after a crash finds it: a retried transaction never makes a
second event.
"""

from __future__ import annotations

import sqlite3

from trioserver.db.roomserver_nids import json_array


def recorded_event_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, scope: str, txn_id: str
) -> str | None:
    """The event ID a transaction produced, or None if it has not run yet."""
    row = conn.execute(
        "SELECT event_id FROM room_txn_ids"
        " WHERE user_id = ? AND device_id = ? AND scope = ? AND txn_id = ?",
        (user_id, device_id, scope, txn_id),
    ).fetchone()
    return None if row is None else str(row[0])


def record_txn_txn(
    conn: sqlite3.Connection,
    user_id: str,
    device_id: str,
    scope: str,
    txn_id: str,
    room_id: str,
    event_id: str,
    now_ms: int,
) -> None:
    conn.execute(
        "INSERT INTO room_txn_ids (user_id, device_id, scope, txn_id, room_id, event_id,"
        " created_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (user_id, device_id, scope, txn_id, room_id, event_id, now_ms),
    )


def transaction_ids_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, event_ids: list[str]
) -> dict[str, str]:
    """``event_id -> txn_id`` for the events among ``event_ids`` that this
    device sent with a transaction ID (for ``unsigned.transaction_id``)."""
    rows = conn.execute(
        "SELECT event_id, txn_id FROM room_txn_ids"
        " WHERE event_id IN (SELECT value FROM json_each(?)) AND user_id = ? AND device_id = ?",
        (json_array(event_ids), user_id, device_id),
    )
    return {str(e): str(t) for e, t in rows}
