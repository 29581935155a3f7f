"""SQL of a room's current state and what is derived from it: ``current_state``,
``memberships``, ``rooms.current_snapshot_nid``.

Contract:

* ``current_state`` is the flattened ``rooms.current_snapshot_nid``;
  :func:`update_current_state_txn` moves both together, given the delta
  between the old and the new state (the roomserver computes it with
  ``state_blocks.diff_states``), in the same transaction as the event.
* ``memberships`` holds one row per ``m.room.member`` entry of the current
  state (leaves and bans included): the membership from the event's content
  and the user's server name from the state key.
* Queries answering other services (sync, federation, client API) take and
  return string IDs; the ``*_nids_txn`` ones are for the roomserver.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from trioserver.db.nids import (
    MEMBER_NID,
    EventNID,
    EventTypeNID,
    RoomNID,
    StateKeyNID,
    StateKeyTuple,
    StateMap,
    StateSnapshotNID,
)
from trioserver.db.roomserver_nids import json_array

#: Memberships of a user counted as being "in" a room for routing purposes.
JOINED = "join"


def update_current_state_txn(
    conn: sqlite3.Connection,
    room_nid: RoomNID,
    snapshot_nid: StateSnapshotNID,
    added: Mapping[StateKeyTuple, EventNID],
    removed: Mapping[StateKeyTuple, EventNID],
) -> None:
    """Make ``snapshot_nid`` the room's current state: ``added`` holds the new
    event of each key added or replaced, ``removed`` the old event of each key
    removed or replaced. Member events added must be stored."""
    gone = [key for key in removed if key not in added]
    conn.executemany(
        "DELETE FROM current_state WHERE room_nid = ? AND type_nid = ? AND state_key_nid = ?",
        [(room_nid, t, k) for t, k in gone],
    )
    conn.executemany(
        "DELETE FROM memberships WHERE room_nid = ? AND user_nid = ?",
        [(room_nid, k) for t, k in gone if t == MEMBER_NID],
    )
    conn.executemany(
        "INSERT INTO current_state (room_nid, type_nid, state_key_nid, event_nid)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (room_nid, type_nid, state_key_nid)"
        " DO UPDATE SET event_nid = excluded.event_nid",
        [(room_nid, t, k, event) for (t, k), event in added.items()],
    )
    for (type_nid, user_nid), event_nid in added.items():
        if type_nid == MEMBER_NID:
            _set_membership(conn, room_nid, user_nid, event_nid)
    conn.execute(
        "UPDATE rooms SET current_snapshot_nid = ? WHERE room_nid = ?", (snapshot_nid, room_nid)
    )


def _set_membership(
    conn: sqlite3.Connection, room_nid: RoomNID, user_nid: StateKeyNID, event_nid: EventNID
) -> None:
    cursor = conn.execute(
        "INSERT INTO memberships (room_nid, user_nid, membership, event_nid, server_name)"
        " SELECT ?, k.state_key_nid, json_extract(e.json, '$.content.membership'),"
        "  e.event_nid, substr(k.state_key, instr(k.state_key, ':') + 1)"
        " FROM events AS e, event_state_keys AS k"
        " WHERE e.event_nid = ? AND k.state_key_nid = ?"
        " ON CONFLICT (room_nid, user_nid) DO UPDATE SET membership = excluded.membership,"
        "  event_nid = excluded.event_nid, server_name = excluded.server_name",
        (room_nid, event_nid, user_nid),
    )
    if cursor.rowcount != 1:
        raise LookupError(f"member event NID {event_nid} is not stored")


def current_state_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, type_nids: Iterable[EventTypeNID] | None = None
) -> StateMap:
    """The room's current state (optionally only the given types)."""
    sql = "SELECT type_nid, state_key_nid, event_nid FROM current_state WHERE room_nid = ?"
    params: tuple[object, ...] = (room_nid,)
    if type_nids is not None:
        sql += " AND type_nid IN (SELECT value FROM json_each(?))"
        params += (json_array(type_nids),)
    return {(EventTypeNID(t), StateKeyNID(k)): EventNID(e) for t, k, e in conn.execute(sql, params)}


def current_state_event_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, type_nid: EventTypeNID, state_key_nid: StateKeyNID
) -> EventNID | None:
    row = conn.execute(
        "SELECT event_nid FROM current_state"
        " WHERE room_nid = ? AND type_nid = ? AND state_key_nid = ?",
        (room_nid, type_nid, state_key_nid),
    ).fetchone()
    return None if row is None else EventNID(row[0])


def member_nids_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, membership: str = JOINED
) -> list[StateKeyNID]:
    """State key NIDs of the room's users with ``membership``."""
    rows = conn.execute(
        "SELECT user_nid FROM memberships WHERE room_nid = ? AND membership = ? ORDER BY user_nid",
        (room_nid, membership),
    )
    return [StateKeyNID(row[0]) for row in rows]


def membership_txn(conn: sqlite3.Connection, room_id: str, user_id: str) -> str | None:
    """The user's current membership of the room (None: never a member)."""
    row = conn.execute(
        "SELECT m.membership FROM rooms AS r"
        " JOIN event_state_keys AS k ON k.state_key = ?"
        " JOIN memberships AS m ON m.room_nid = r.room_nid AND m.user_nid = k.state_key_nid"
        " WHERE r.room_id = ?",
        (user_id, room_id),
    ).fetchone()
    return None if row is None else str(row[0])


def rooms_for_user_txn(
    conn: sqlite3.Connection, user_id: str, memberships: Iterable[str] | None = None
) -> dict[str, str]:
    """``{room_id: membership}`` for every room the user has a membership in
    (only those in ``memberships`` when given)."""
    sql = (
        "SELECT r.room_id, m.membership FROM event_state_keys AS k"
        " JOIN memberships AS m ON m.user_nid = k.state_key_nid"
        " JOIN rooms AS r ON r.room_nid = m.room_nid WHERE k.state_key = ?"
    )
    params: tuple[object, ...] = (user_id,)
    if memberships is not None:
        sql += " AND m.membership IN (SELECT value FROM json_each(?))"
        params += (json_array(memberships),)
    return {room_id: membership for room_id, membership in conn.execute(sql, params)}


def members_txn(conn: sqlite3.Connection, room_id: str, membership: str = JOINED) -> list[str]:
    """User IDs of the room's members with ``membership`` (joined by default), sorted."""
    rows = conn.execute(
        "SELECT k.state_key FROM rooms AS r"
        " JOIN memberships AS m ON m.room_nid = r.room_nid AND m.membership = ?"
        " JOIN event_state_keys AS k ON k.state_key_nid = m.user_nid"
        " WHERE r.room_id = ? ORDER BY k.state_key",
        (membership, room_id),
    )
    return [row[0] for row in rows]


def servers_in_room_txn(conn: sqlite3.Connection, room_id: str) -> set[str]:
    """Server names of the room's joined members (where events go)."""
    rows = conn.execute(
        "SELECT DISTINCT m.server_name FROM rooms AS r"
        " JOIN memberships AS m ON m.room_nid = r.room_nid AND m.membership = ?"
        " WHERE r.room_id = ?",
        (JOINED, room_id),
    )
    return {row[0] for row in rows}
