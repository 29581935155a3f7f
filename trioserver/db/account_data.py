"""SQL for ``account_data`` (global and per-room, ``m.tag`` included) and its stream.

Every change takes the next position of the account-data stream
(:func:`next_position_txn`), so a reader that remembers the position it has
seen gets exactly what changed after it (:func:`changes_since_txn`).
Global account data is stored with ``room_id = ''``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

#: ``room_id`` of global account data.
GLOBAL = ""


@dataclass(frozen=True, slots=True)
class AccountDataChange:
    room_id: str | None  #: None for global account data
    type: str
    content_json: str
    stream_pos: int


def next_position_txn(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "UPDATE account_data_stream SET position = position + 1 RETURNING position"
    ).fetchone()
    return int(row[0])


def current_position_txn(conn: sqlite3.Connection) -> int:
    """The position of the latest change (0 before the first)."""
    return int(conn.execute("SELECT position FROM account_data_stream").fetchone()[0])


def set_account_data_txn(
    conn: sqlite3.Connection, user_id: str, room_id: str | None, type_: str, content_json: str
) -> int:
    """Store ``content_json`` as ``user_id``'s account data of ``type_`` (in
    ``room_id``, or global when None); returns the change's stream position."""
    position = next_position_txn(conn)
    conn.execute(
        "INSERT INTO account_data (user_id, room_id, type, content, stream_pos)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, type)"
        " DO UPDATE SET content = excluded.content, stream_pos = excluded.stream_pos",
        (user_id, room_id or GLOBAL, type_, content_json, position),
    )
    return position


def get_account_data_txn(
    conn: sqlite3.Connection, user_id: str, room_id: str | None, type_: str
) -> str | None:
    """The JSON content, or None if unset."""
    row = conn.execute(
        "SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?",
        (user_id, room_id or GLOBAL, type_),
    ).fetchone()
    return None if row is None else str(row[0])


def changes_since_txn(
    conn: sqlite3.Connection, user_id: str, since: int, up_to: int | None = None
) -> list[AccountDataChange]:
    """``user_id``'s account data changed after position ``since`` (up to and
    including ``up_to`` if given), oldest first; each entry is the current
    content of one (room, type)."""
    if up_to is None:
        rows = conn.execute(
            "SELECT room_id, type, content, stream_pos FROM account_data"
            " WHERE user_id = ? AND stream_pos > ? ORDER BY stream_pos",
            (user_id, since),
        )
    else:
        rows = conn.execute(
            "SELECT room_id, type, content, stream_pos FROM account_data"
            " WHERE user_id = ? AND stream_pos > ? AND stream_pos <= ? ORDER BY stream_pos",
            (user_id, since, up_to),
        )
    return [
        AccountDataChange(room_id or None, str(type_), str(content), int(pos))
        for room_id, type_, content, pos in rows
    ]


def delete_user_account_data_txn(conn: sqlite3.Connection, user_id: str) -> None:
    """Erase every piece of account data of ``user_id`` (account erasure)."""
    conn.execute("DELETE FROM account_data WHERE user_id = ?", (user_id,))
