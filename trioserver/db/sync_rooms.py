"""SQL reads of the roomserver's tables for ``/sync`` (string IDs out; NIDs
stay here).

Contract: every function reads committed rows only; callers run several of
them in one read transaction (:func:`Database.run_read` of a function doing
them all) so current state, state deltas and events agree. Costs:

* a user's membership history: one index range over their own member
  events (``events_state_key_stream``), not the rooms' histories;
* a timeline page: one index range of the room (``events_room_stream``);
* state between two positions: the room's ``state_deltas`` rows in that
  range, so the cost grows with what changed, not with the room's history;
* state at a position: current state rolled back over the deltas after it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from trioserver.db.nids import MEMBER_NID
from trioserver.db.roomserver_nids import json_array
from trioserver.db.roomserver_state import load_state_keys_txn

StateKey = tuple[str, str]

_JOIN = "join"


@dataclass(frozen=True, slots=True)
class MembershipEvent:
    """One of a user's own member events, by stream position."""

    room_id: str
    position: int
    membership: str
    event_id: str


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """A stored room event as sync needs it."""

    event_id: str
    position: int | None  #: None: not on the live stream (history or outlier)
    room_version: str
    pdu: dict[str, Any]
    #: the redaction that applies to it: (event ID, PDU), or None
    redacted_by: tuple[str, dict[str, Any]] | None = None
    #: the state event it replaced: (event ID, PDU, redacted?), or None
    replaces: tuple[str, dict[str, Any], bool] | None = None


@dataclass(frozen=True, slots=True)
class StateChange:
    """One ``state_deltas`` row with the state keys of its events."""

    position: int
    added: tuple[tuple[StateKey, str], ...]
    removed: tuple[tuple[StateKey, str], ...]


def _user_nid(conn: sqlite3.Connection, user_id: str) -> int | None:
    row = conn.execute(
        "SELECT state_key_nid FROM event_state_keys WHERE state_key = ?", (user_id,)
    ).fetchone()
    return None if row is None else int(row[0])


def membership_events_txn(
    conn: sqlite3.Connection, user_id: str, upto: int
) -> list[MembershipEvent]:
    """The user's own member events at stream positions ``<= upto``, oldest first."""
    user_nid = _user_nid(conn, user_id)
    if user_nid is None:
        return []
    rows = conn.execute(
        "SELECT r.room_id, e.stream_ordering, json_extract(e.json, '$.content.membership'),"
        " i.event_id FROM events AS e"
        " JOIN rooms AS r ON r.room_nid = e.room_nid"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " WHERE e.state_key_nid = ? AND e.state_key_nid != 0 AND e.type_nid = ?"
        " AND e.stream_ordering IS NOT NULL AND e.stream_ordering <= ?"
        " ORDER BY e.stream_ordering",
        (user_nid, MEMBER_NID, upto),
    )
    return [MembershipEvent(str(r), int(p), str(m), str(i)) for r, p, m, i in rows]


_EVENT_SELECT = (
    "SELECT i.event_id, e.stream_ordering, r.room_version, e.json, ri.event_id, re.json,"
    " pi.event_id, pe.json, pe.redacted_by"
    " FROM events AS e"
    " JOIN event_ids AS i ON i.event_nid = e.event_nid"
    " JOIN rooms AS r ON r.room_nid = e.room_nid"
    " LEFT JOIN events AS re ON re.event_nid = e.redacted_by"
    " LEFT JOIN event_ids AS ri ON ri.event_nid = e.redacted_by"
    " LEFT JOIN replaced_state AS rs ON rs.event_nid = e.event_nid"
    " LEFT JOIN event_ids AS pi ON pi.event_nid = rs.replaced_nid"
    " LEFT JOIN events AS pe ON pe.event_nid = rs.replaced_nid"
)


def _sync_event(row: Any) -> SyncEvent:
    event_id, position, version, text, redaction_id, redaction_json = row[:6]
    prev_id, prev_json, prev_redacted_by = row[6:]
    redacted = None
    if redaction_id is not None and redaction_json is not None:
        redacted = (str(redaction_id), json.loads(redaction_json))
    replaces = None
    if prev_id is not None and prev_json is not None:
        replaces = (str(prev_id), json.loads(prev_json), prev_redacted_by is not None)
    return SyncEvent(str(event_id), position, str(version), json.loads(text), redacted, replaces)


def room_events_page_txn(
    conn: sqlite3.Connection, room_id: str, after: int, upto: int, limit: int
) -> list[SyncEvent]:
    """The room's live events with ``after < position <= upto``, newest first, at most ``limit``."""
    rows = conn.execute(
        _EVENT_SELECT + " WHERE e.room_nid = (SELECT room_nid FROM rooms WHERE room_id = ?)"
        " AND e.stream_ordering IS NOT NULL AND e.stream_ordering > ? AND e.stream_ordering <= ?"
        " ORDER BY e.stream_ordering DESC LIMIT ?",
        (room_id, after, upto, limit),
    )
    return [_sync_event(row) for row in rows]


def events_by_id_txn(conn: sqlite3.Connection, event_ids: Iterable[str]) -> dict[str, SyncEvent]:
    wanted = sorted(set(event_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        _EVENT_SELECT + " WHERE e.event_nid IN (SELECT event_nid FROM event_ids"
        " WHERE event_id IN (SELECT value FROM json_each(?)))",
        (json_array(wanted),),
    )
    return {event.event_id: event for event in map(_sync_event, rows)}


def rooms_with_events_txn(conn: sqlite3.Connection, after: int, upto: int) -> set[str]:
    """Rooms with a live event at a position in ``(after, upto]``."""
    rows = conn.execute(
        "SELECT DISTINCT r.room_id FROM events AS e JOIN rooms AS r ON r.room_nid = e.room_nid"
        " WHERE e.stream_ordering > ? AND e.stream_ordering <= ?",
        (after, upto),
    )
    return {str(row[0]) for row in rows}


def _keys_of(conn: sqlite3.Connection, nids: Collection[int]) -> dict[int, tuple[StateKey, str]]:
    if not nids:
        return {}
    rows = conn.execute(
        "SELECT e.event_nid, t.type, k.state_key, i.event_id FROM events AS e"
        " JOIN event_types AS t ON t.type_nid = e.type_nid"
        " JOIN event_state_keys AS k ON k.state_key_nid = e.state_key_nid"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " WHERE e.event_nid IN (SELECT value FROM json_each(?))",
        (json_array(sorted(nids)),),
    )
    return {int(n): ((str(t), str(k)), str(i)) for n, t, k, i in rows}


def state_changes_txn(
    conn: sqlite3.Connection, room_id: str, after: int, upto: int | None = None
) -> list[StateChange]:
    """The room's current-state changes at positions in ``(after, upto]``
    (``upto`` None: no upper bound), oldest first."""
    sql = (
        "SELECT stream_ordering, adds, removes FROM state_deltas"
        " WHERE room_nid = (SELECT room_nid FROM rooms WHERE room_id = ?) AND stream_ordering > ?"
    )
    params: tuple[object, ...] = (room_id, after)
    if upto is not None:
        sql += " AND stream_ordering <= ?"
        params += (upto,)
    rows = [
        (int(p), json.loads(a), json.loads(r))
        for p, a, r in conn.execute(sql + " ORDER BY stream_ordering", params)
    ]
    keys = _keys_of(conn, {n for _, adds, removes in rows for n in (*adds, *removes)})
    return [
        StateChange(
            position,
            tuple(keys[n] for n in adds if n in keys),
            tuple(keys[n] for n in removes if n in keys),
        )
        for position, adds, removes in rows
    ]


def current_state_ids_txn(conn: sqlite3.Connection, room_id: str) -> dict[StateKey, str]:
    """The room's current state: ``(type, state_key) -> event ID``."""
    rows = conn.execute(
        "SELECT t.type, k.state_key, i.event_id FROM rooms AS r"
        " JOIN current_state AS c ON c.room_nid = r.room_nid"
        " JOIN event_types AS t ON t.type_nid = c.type_nid"
        " JOIN event_state_keys AS k ON k.state_key_nid = c.state_key_nid"
        " JOIN event_ids AS i ON i.event_nid = c.event_nid"
        " WHERE r.room_id = ?",
        (room_id,),
    )
    return {(str(t), str(k)): str(i) for t, k, i in rows}


def state_at_position_txn(
    conn: sqlite3.Connection, room_id: str, position: int
) -> dict[StateKey, str]:
    """The room's state just after stream ``position``: current state rolled
    back over the changes after it (cost: current state + later changes)."""
    state = current_state_ids_txn(conn, room_id)
    for change in reversed(state_changes_txn(conn, room_id, position)):
        removed_keys = {key for key, _ in change.removed}
        for key, _ in change.added:
            if key not in removed_keys:
                state.pop(key, None)
        for key, event_id in change.removed:
            state[key] = event_id
    return state


def members_txn(conn: sqlite3.Connection, room_id: str) -> dict[str, str]:
    """``user_id -> membership`` of the room's current member entries."""
    rows = conn.execute(
        "SELECT k.state_key, m.membership FROM rooms AS r"
        " JOIN memberships AS m ON m.room_nid = r.room_nid"
        " JOIN event_state_keys AS k ON k.state_key_nid = m.user_nid"
        " WHERE r.room_id = ?",
        (room_id,),
    )
    return {str(u): str(m) for u, m in rows}


def joined_members_txn(conn: sqlite3.Connection, room_id: str) -> set[str]:
    rows = conn.execute(
        "SELECT k.state_key FROM rooms AS r"
        " JOIN memberships AS m ON m.room_nid = r.room_nid AND m.membership = ?"
        " JOIN event_state_keys AS k ON k.state_key_nid = m.user_nid"
        " WHERE r.room_id = ?",
        (_JOIN, room_id),
    )
    return {str(row[0]) for row in rows}


def users_sharing_rooms_txn(conn: sqlite3.Connection, user_id: str) -> set[str]:
    """Users joined to a room ``user_id`` is joined to (``user_id`` included if joined anywhere)."""
    rows = conn.execute(
        "SELECT DISTINCT k2.state_key FROM event_state_keys AS k1"
        " JOIN memberships AS m1 ON m1.user_nid = k1.state_key_nid AND m1.membership = ?"
        " JOIN memberships AS m2 ON m2.room_nid = m1.room_nid AND m2.membership = ?"
        " JOIN event_state_keys AS k2 ON k2.state_key_nid = m2.user_nid"
        " WHERE k1.state_key = ?",
        (_JOIN, _JOIN, user_id),
    )
    return {str(row[0]) for row in rows}


def member_changes_txn(
    conn: sqlite3.Connection, room_ids: Collection[str], after: int, upto: int
) -> list[tuple[str, str, str]]:
    """``(room_id, user_id, membership)`` of member events in ``room_ids`` at
    positions in ``(after, upto]``, oldest first."""
    if not room_ids:
        return []
    rows = conn.execute(
        "SELECT r.room_id, json_extract(e.json, '$.state_key'),"
        " json_extract(e.json, '$.content.membership') FROM events AS e"
        " JOIN rooms AS r ON r.room_nid = e.room_nid"
        " WHERE e.stream_ordering > ? AND e.stream_ordering <= ? AND e.type_nid = ?"
        " AND r.room_id IN (SELECT value FROM json_each(?)) ORDER BY e.stream_ordering",
        (after, upto, MEMBER_NID, json_array(sorted(room_ids))),
    )
    return [(str(r), str(u), str(m)) for r, u, m in rows]


def state_before_event_txn(
    conn: sqlite3.Connection, event_id: str, keys: Iterable[StateKey]
) -> dict[StateKey, str]:
    """The events of ``keys`` in the state before ``event_id`` (absent keys left out)."""
    row = conn.execute(
        "SELECT e.state_before_snapshot_nid FROM event_ids AS i JOIN events AS e"
        " ON e.event_nid = i.event_nid WHERE i.event_id = ?",
        (event_id,),
    ).fetchone()
    if row is None or row[0] is None:
        return {}
    wanted = list(keys)
    type_rows = conn.execute(
        "SELECT type, type_nid FROM event_types WHERE type IN (SELECT value FROM json_each(?))",
        (json_array(sorted({t for t, _ in wanted})),),
    )
    type_nids = {str(t): int(n) for t, n in type_rows}
    key_rows = conn.execute(
        "SELECT state_key, state_key_nid FROM event_state_keys"
        " WHERE state_key IN (SELECT value FROM json_each(?))",
        (json_array(sorted({k for _, k in wanted})),),
    )
    key_nids = {str(k): int(n) for k, n in key_rows}
    nid_keys = [(type_nids[t], key_nids[k]) for t, k in wanted if t in type_nids and k in key_nids]
    found = load_state_keys_txn(conn, row[0], nid_keys)  # type: ignore[arg-type]
    ids = _keys_of(conn, set(found.values()))
    return {ids[n][0]: ids[n][1] for n in found.values() if n in ids}


def user_rooms_txn(conn: sqlite3.Connection, user_id: str) -> list[str]:
    """Rooms the user has a current member entry in (any membership)."""
    rows = conn.execute(
        "SELECT r.room_id FROM event_state_keys AS k"
        " JOIN memberships AS m ON m.user_nid = k.state_key_nid"
        " JOIN rooms AS r ON r.room_nid = m.room_nid WHERE k.state_key = ?",
        (user_id,),
    )
    return sorted(str(row[0]) for row in rows)
