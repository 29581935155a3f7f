"""Room events by stream position (``GET /rooms/{roomId}/members?at=``)."""

from __future__ import annotations

import sqlite3


def last_event_at_position_txn(conn: sqlite3.Connection, room_id: str, position: int) -> str | None:
    """The ID of the room's last client-visible event at or before stream
    ``position`` (None: the room had none then)."""
    row = conn.execute(
        "SELECT i.event_id FROM rooms AS r"
        " JOIN events AS e ON e.room_nid = r.room_nid"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " WHERE r.room_id = ? AND e.stream_ordering IS NOT NULL AND e.stream_ordering <= ?"
        " ORDER BY e.stream_ordering DESC LIMIT 1",
        (room_id, position),
    ).fetchone()
    return None if row is None else str(row[0])
