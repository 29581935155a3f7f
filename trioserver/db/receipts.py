"""SQL for ``receipts`` and its stream, and the reads unread counts need.

Contract:

* One row per (room, user, receipt type, thread); ``thread_id`` ``''`` is an
  unthreaded receipt. Setting a receipt replaces the row and takes the next
  position of the receipts stream (:func:`set_receipt_txn`), so a reader that
  remembers a position gets exactly what changed after it.
* Unread counts are derived, never stored: :func:`events_after_txn` reads a
  room's client-visible events after a stream position (the user's receipt)
  and :func:`push_room_state_txn` what push-rule conditions need. A message
  costs no row per room member.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: ``thread_id`` of an unthreaded receipt.
UNTHREADED = ""


@dataclass(frozen=True, slots=True)
class Receipt:
    room_id: str
    user_id: str
    receipt_type: str
    thread_id: str  #: ``''``: unthreaded
    event_id: str
    event_position: int
    ts: int
    stream_pos: int


_COLUMNS = "room_id, user_id, receipt_type, thread_id, event_id, event_position, ts, stream_pos"


def current_position_txn(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT position FROM receipts_stream").fetchone()[0])


def set_receipt_txn(
    conn: sqlite3.Connection,
    room_id: str,
    user_id: str,
    receipt_type: str,
    thread_id: str,
    event_id: str,
    event_position: int,
    ts: int,
) -> int | None:
    """Store the receipt unless the stored one is for a later event; returns
    the new stream position (None: nothing changed)."""
    row = conn.execute(
        "SELECT event_position, event_id FROM receipts"
        " WHERE room_id = ? AND user_id = ? AND receipt_type = ? AND thread_id = ?",
        (room_id, user_id, receipt_type, thread_id),
    ).fetchone()
    if row is not None and (row[0] > event_position or row[1] == event_id):
        return None
    position = int(
        conn.execute(
            "UPDATE receipts_stream SET position = position + 1 RETURNING position"
        ).fetchone()[0]
    )
    conn.execute(
        f"INSERT INTO receipts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (room_id, user_id, receipt_type, thread_id) DO UPDATE SET"
        " event_id = excluded.event_id, event_position = excluded.event_position,"
        " ts = excluded.ts, stream_pos = excluded.stream_pos",
        (room_id, user_id, receipt_type, thread_id, event_id, event_position, ts, position),
    )
    return position


def receipts_changed_txn(
    conn: sqlite3.Connection, room_ids: Iterable[str], after: int, upto: int
) -> list[Receipt]:
    """Receipts in ``room_ids`` set at stream positions in ``(after, upto]``."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM receipts"
        " WHERE room_id IN (SELECT value FROM json_each(?)) AND stream_pos > ? AND stream_pos <= ?"
        " ORDER BY stream_pos",
        (json.dumps(sorted(set(room_ids))), after, upto),
    )
    return [Receipt(*row) for row in rows]


def user_receipts_txn(conn: sqlite3.Connection, user_id: str, room_id: str) -> list[Receipt]:
    """``user_id``'s receipts in the room (every type and thread)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM receipts WHERE room_id = ? AND user_id = ?", (room_id, user_id)
    )
    return [Receipt(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class RoomEvent:
    position: int
    event_id: str
    pdu: dict[str, Any]


def event_position_txn(conn: sqlite3.Connection, room_id: str, event_id: str) -> int | None:
    """The stream position of a client-visible event of the room (None: not one)."""
    row = conn.execute(
        "SELECT e.stream_ordering FROM event_ids AS i"
        " JOIN events AS e ON e.event_nid = i.event_nid"
        " JOIN rooms AS r ON r.room_nid = e.room_nid"
        " WHERE i.event_id = ? AND r.room_id = ? AND e.stream_ordering IS NOT NULL",
        (event_id, room_id),
    ).fetchone()
    return None if row is None else int(row[0])


def latest_position_txn(conn: sqlite3.Connection, room_id: str) -> int:
    """The stream position of the room's newest client-visible event (0: none)."""
    row = conn.execute(
        "SELECT MAX(e.stream_ordering) FROM rooms AS r JOIN events AS e ON e.room_nid = r.room_nid"
        " WHERE r.room_id = ?",
        (room_id,),
    ).fetchone()
    return int(row[0] or 0)


def events_after_txn(
    conn: sqlite3.Connection, room_id: str, after: int, limit: int, upto: int | None = None
) -> list[RoomEvent]:
    """The room's client-visible, unredacted events after ``after`` (up to
    ``upto``), oldest first, at most ``limit``."""
    rows = conn.execute(
        "SELECT e.stream_ordering, i.event_id, e.json FROM rooms AS r"
        " JOIN events AS e ON e.room_nid = r.room_nid"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " WHERE r.room_id = ? AND e.stream_ordering > ? AND e.stream_ordering <= ?"
        " AND e.redacted_by IS NULL ORDER BY e.stream_ordering LIMIT ?",
        (room_id, after, upto if upto is not None else 2**62, limit),
    )
    return [RoomEvent(int(p), str(e), json.loads(j)) for p, e, j in rows]


def events_before_txn(
    conn: sqlite3.Connection, room_ids: Iterable[str], before: int, limit: int
) -> list[tuple[str, RoomEvent]]:
    """Client-visible, unredacted events of ``room_ids`` before position
    ``before``, newest first, at most ``limit`` (``GET /notifications``)."""
    rows = conn.execute(
        "SELECT r.room_id, e.stream_ordering, i.event_id, e.json FROM rooms AS r"
        " JOIN events AS e ON e.room_nid = r.room_nid"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " WHERE r.room_id IN (SELECT value FROM json_each(?))"
        " AND e.stream_ordering < ? AND e.redacted_by IS NULL"
        " ORDER BY e.stream_ordering DESC LIMIT ?",
        (json.dumps(sorted(set(room_ids))), before, limit),
    )
    return [(str(r), RoomEvent(int(p), str(e), json.loads(j))) for r, p, e, j in rows]


@dataclass(frozen=True, slots=True)
class PushRoomState:
    """What push-rule conditions need of a room's current state."""

    room_version: str
    member_count: int
    power_levels: dict[str, Any] | None
    create_event: dict[str, Any] | None
    display_name: str | None


def push_room_state_txn(
    conn: sqlite3.Connection, room_id: str, user_id: str
) -> PushRoomState | None:
    """The room's joined member count, power levels, create event and
    ``user_id``'s display name in it (None: unknown room)."""
    room = conn.execute(
        "SELECT room_nid, room_version FROM rooms WHERE room_id = ?", (room_id,)
    ).fetchone()
    if room is None:
        return None
    room_nid, version = room
    count = conn.execute(
        "SELECT COUNT(*) FROM memberships WHERE room_nid = ? AND membership = 'join'", (room_nid,)
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT t.type, k.state_key, e.json FROM current_state AS c"
        " JOIN event_types AS t ON t.type_nid = c.type_nid"
        " JOIN event_state_keys AS k ON k.state_key_nid = c.state_key_nid"
        " JOIN events AS e ON e.event_nid = c.event_nid"
        " WHERE c.room_nid = ? AND ("
        "  (t.type IN ('m.room.power_levels', 'm.room.create') AND k.state_key = '')"
        "  OR (t.type = 'm.room.member' AND k.state_key = ?))",
        (room_nid, user_id),
    ).fetchall()
    power_levels = create = None
    name: str | None = None
    for type_, _, pdu_json in rows:
        pdu = json.loads(pdu_json)
        content = pdu.get("content")
        if type_ == "m.room.power_levels" and isinstance(content, dict):
            power_levels = content
        elif type_ == "m.room.create":
            create = pdu
        elif type_ == "m.room.member" and isinstance(content, dict):
            value = content.get("displayname")
            name = value if isinstance(value, str) else None
    return PushRoomState(str(version), int(count), power_levels, create, name)


def member_event_position_txn(conn: sqlite3.Connection, room_id: str, user_id: str) -> int:
    """The stream position of ``user_id``'s current member event in the room (0: none)."""
    row = conn.execute(
        "SELECT e.stream_ordering FROM rooms AS r"
        " JOIN event_state_keys AS k ON k.state_key = ?"
        " JOIN memberships AS m ON m.room_nid = r.room_nid AND m.user_nid = k.state_key_nid"
        " JOIN events AS e ON e.event_nid = m.event_nid WHERE r.room_id = ?",
        (user_id, room_id),
    ).fetchone()
    return int(row[0] or 0) if row is not None else 0
