"""SQL of the roomserver's NID tables: ``rooms``, ``event_types``,
``event_state_keys``, ``event_ids``.

Contract: ``get_or_create_*`` functions (writers) return a NID for every
string given, creating the missing ones; ``lookup_*`` functions (readers)
return only the strings already known and never write. Bulk variants take
any number of values in one statement (a JSON array bound to one parameter,
read with ``json_each``), so callers never hit SQLite's variable limit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from trioserver.db.nids import (
    FIRST_DYNAMIC_TYPE_NID,
    EventNID,
    EventTypeNID,
    RoomNID,
    StateKeyNID,
    StateSnapshotNID,
)


def json_array(values: Iterable[str] | Iterable[int]) -> str:
    """One SQL parameter holding many values: use as ``IN (SELECT value FROM json_each(?))``."""
    return json.dumps(list(values))


@dataclass(frozen=True, slots=True)
class RoomInfo:
    room_nid: RoomNID
    room_id: str
    room_version: str
    current_snapshot_nid: StateSnapshotNID | None
    last_stream_ordering: int  #: 0 before the room's first visible event


class RoomVersionMismatch(Exception):
    """The room is already known with another room version."""


# -- rooms -----------------------------------------------------------------


def get_or_create_room_nid_txn(
    conn: sqlite3.Connection, room_id: str, room_version: str
) -> RoomNID:
    """The room's NID, assigned on first use. Raises :class:`RoomVersionMismatch`
    if the room is known with a different version."""
    row = conn.execute(
        "SELECT room_nid, room_version FROM rooms WHERE room_id = ?", (room_id,)
    ).fetchone()
    if row is not None:
        if row[1] != room_version:
            raise RoomVersionMismatch(f"{room_id} has version {row[1]}, not {room_version}")
        return RoomNID(row[0])
    cursor = conn.execute(
        "INSERT INTO rooms (room_id, room_version) VALUES (?, ?)", (room_id, room_version)
    )
    assert cursor.lastrowid is not None
    return RoomNID(cursor.lastrowid)


def _room_info(row: tuple[int, str, str, int | None, int]) -> RoomInfo:
    snapshot = None if row[3] is None else StateSnapshotNID(row[3])
    return RoomInfo(RoomNID(row[0]), row[1], row[2], snapshot, row[4])


_ROOM_COLUMNS = "room_nid, room_id, room_version, current_snapshot_nid, last_stream_ordering"


def room_info_txn(conn: sqlite3.Connection, room_id: str) -> RoomInfo | None:
    row = conn.execute(
        f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE room_id = ?", (room_id,)
    ).fetchone()
    return None if row is None else _room_info(row)


def room_info_by_nid_txn(conn: sqlite3.Connection, room_nid: RoomNID) -> RoomInfo | None:
    row = conn.execute(
        f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE room_nid = ?", (room_nid,)
    ).fetchone()
    return None if row is None else _room_info(row)


# -- event types -----------------------------------------------------------


def lookup_type_nids_txn(conn: sqlite3.Connection, types: Iterable[str]) -> dict[str, EventTypeNID]:
    rows = conn.execute(
        "SELECT type, type_nid FROM event_types WHERE type IN (SELECT value FROM json_each(?))",
        (json_array(types),),
    )
    return {name: EventTypeNID(nid) for name, nid in rows}


def get_or_create_type_nids_txn(
    conn: sqlite3.Connection, types: Iterable[str]
) -> dict[str, EventTypeNID]:
    """NIDs of ``types``; new types get NIDs from ``FIRST_DYNAMIC_TYPE_NID`` up."""
    wanted = set(types)
    found = lookup_type_nids_txn(conn, wanted)
    for name in sorted(wanted - found.keys()):
        cursor = conn.execute(
            "INSERT INTO event_types (type_nid, type)"
            " SELECT max(coalesce(max(type_nid), 0) + 1, ?), ? FROM event_types",
            (FIRST_DYNAMIC_TYPE_NID, name),
        )
        assert cursor.lastrowid is not None
        found[name] = EventTypeNID(cursor.lastrowid)
    return found


def get_or_create_type_nid_txn(conn: sqlite3.Connection, event_type: str) -> EventTypeNID:
    return get_or_create_type_nids_txn(conn, [event_type])[event_type]


def type_names_txn(
    conn: sqlite3.Connection, nids: Iterable[EventTypeNID]
) -> dict[EventTypeNID, str]:
    rows = conn.execute(
        "SELECT type_nid, type FROM event_types WHERE type_nid IN (SELECT value FROM json_each(?))",
        (json_array(nids),),
    )
    return {EventTypeNID(nid): name for nid, name in rows}


# -- state keys ------------------------------------------------------------


def lookup_state_key_nids_txn(
    conn: sqlite3.Connection, state_keys: Iterable[str]
) -> dict[str, StateKeyNID]:
    rows = conn.execute(
        "SELECT state_key, state_key_nid FROM event_state_keys"
        " WHERE state_key IN (SELECT value FROM json_each(?))",
        (json_array(state_keys),),
    )
    return {key: StateKeyNID(nid) for key, nid in rows}


def get_or_create_state_key_nids_txn(
    conn: sqlite3.Connection, state_keys: Iterable[str]
) -> dict[str, StateKeyNID]:
    wanted = set(state_keys)
    found = lookup_state_key_nids_txn(conn, wanted)
    missing = sorted(wanted - found.keys())
    if missing:
        conn.executemany(
            "INSERT INTO event_state_keys (state_key) VALUES (?)", [(k,) for k in missing]
        )
        found.update(lookup_state_key_nids_txn(conn, missing))
    return found


def get_or_create_state_key_nid_txn(conn: sqlite3.Connection, state_key: str) -> StateKeyNID:
    return get_or_create_state_key_nids_txn(conn, [state_key])[state_key]


def state_keys_txn(conn: sqlite3.Connection, nids: Iterable[StateKeyNID]) -> dict[StateKeyNID, str]:
    rows = conn.execute(
        "SELECT state_key_nid, state_key FROM event_state_keys"
        " WHERE state_key_nid IN (SELECT value FROM json_each(?))",
        (json_array(nids),),
    )
    return {StateKeyNID(nid): key for nid, key in rows}


# -- event IDs -------------------------------------------------------------


def lookup_event_nids_txn(
    conn: sqlite3.Connection, event_ids: Iterable[str]
) -> dict[str, EventNID]:
    """NIDs of the event IDs known (stored, or referenced by a stored event)."""
    rows = conn.execute(
        "SELECT event_id, event_nid FROM event_ids"
        " WHERE event_id IN (SELECT value FROM json_each(?))",
        (json_array(event_ids),),
    )
    return {event_id: EventNID(nid) for event_id, nid in rows}


def get_or_create_event_nids_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, event_ids: Iterable[str]
) -> dict[str, EventNID]:
    """NIDs of ``event_ids``, all of room ``room_nid``; a NID can exist before
    its event is stored (a prev or auth event not fetched yet)."""
    wanted = set(event_ids)
    found = lookup_event_nids_txn(conn, wanted)
    missing = sorted(wanted - found.keys())
    if missing:
        conn.executemany(
            "INSERT INTO event_ids (event_id, room_nid) VALUES (?, ?)",
            [(event_id, room_nid) for event_id in missing],
        )
        found.update(lookup_event_nids_txn(conn, missing))
    return found


def event_ids_txn(conn: sqlite3.Connection, nids: Iterable[EventNID]) -> dict[EventNID, str]:
    """Translation back to event IDs (for outputs leaving the roomserver)."""
    rows = conn.execute(
        "SELECT event_nid, event_id FROM event_ids"
        " WHERE event_nid IN (SELECT value FROM json_each(?))",
        (json_array(nids),),
    )
    return {EventNID(nid): event_id for nid, event_id in rows}
