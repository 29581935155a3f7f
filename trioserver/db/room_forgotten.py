"""SQL of ``room_forgotten``: rooms users have forgotten (``POST
/rooms/{roomId}/forget``). A room is forgotten until the user's membership
changes to join, invite or knock again (then the row is cleared)."""

from __future__ import annotations

import sqlite3


def forget_room_txn(conn: sqlite3.Connection, user_id: str, room_id: str, now_ms: int) -> None:
    conn.execute(
        "INSERT INTO room_forgotten (user_id, room_id, forgotten_ts) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id, room_id) DO UPDATE SET forgotten_ts = excluded.forgotten_ts",
        (user_id, room_id, now_ms),
    )


def unforget_room_txn(conn: sqlite3.Connection, user_id: str, room_id: str) -> None:
    conn.execute("DELETE FROM room_forgotten WHERE user_id = ? AND room_id = ?", (user_id, room_id))


def is_forgotten_txn(conn: sqlite3.Connection, user_id: str, room_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM room_forgotten WHERE user_id = ? AND room_id = ?", (user_id, room_id)
    ).fetchone()
    return row is not None


def forgotten_rooms_txn(conn: sqlite3.Connection, user_id: str) -> set[str]:
    rows = conn.execute("SELECT room_id FROM room_forgotten WHERE user_id = ?", (user_id,))
    return {str(room_id) for (room_id,) in rows}
