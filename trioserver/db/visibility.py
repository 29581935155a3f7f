"""The facts the history visibility rules need, read in bulk from storage.

For each stored event (not outliers): the room's ``history_visibility`` and
the user's membership in the state *before* the event (spec: "the state of
the room at that event"). For the user's own ``m.room.member`` events and for
``m.room.history_visibility`` events the spec also looks at the state *after*
the event; that is the event's own content, which the pure rule
(:func:`trioserver.rooms.visibility.may_see_event`, ``content=``) reads.

Batched: one query for the events' snapshots, then one keyed lookup per
distinct snapshot (two state keys each, whatever the size of the state),
then one query for the contents of the state events found.
"""

from __future__ import annotations

import sqlite3

from trioserver.db.nids import (
    EMPTY_STATE_KEY_NID,
    HISTORY_VISIBILITY_NID,
    MEMBER_NID,
    EventNID,
    StateKeyTuple,
    StateSnapshotNID,
)
from trioserver.db.roomserver_nids import json_array, lookup_state_key_nids_txn
from trioserver.db.roomserver_state import load_state_keys_txn

_HISTORY_KEY: StateKeyTuple = (HISTORY_VISIBILITY_NID, EMPTY_STATE_KEY_NID)
_DEFAULT_VISIBILITY = "shared"


def _snapshots_txn(
    conn: sqlite3.Connection, event_ids: list[str]
) -> dict[str, tuple[StateSnapshotNID, int, int | None]]:
    """Per event: its state-before snapshot, room NID and stream position."""
    rows = conn.execute(
        "SELECT i.event_id, e.state_before_snapshot_nid, e.room_nid, e.stream_ordering"
        " FROM event_ids AS i JOIN events AS e USING (event_nid)"
        " WHERE i.event_id IN (SELECT value FROM json_each(?))"
        " AND e.state_before_snapshot_nid IS NOT NULL",
        (json_array(event_ids),),
    )
    return {
        event_id: (StateSnapshotNID(snapshot), int(room_nid), position)
        for event_id, snapshot, room_nid, position in rows
    }


def _last_joins_txn(conn: sqlite3.Connection, user_nid: int, room_nids: set[int]) -> dict[int, int]:
    """Per room: the stream position of the user's latest join event."""
    rows = conn.execute(
        "SELECT room_nid, MAX(stream_ordering) FROM events"
        " WHERE state_key_nid = ? AND type_nid = ? AND stream_ordering IS NOT NULL"
        " AND room_nid IN (SELECT value FROM json_each(?))"
        " AND json_extract(json, '$.content.membership') = 'join'"
        " GROUP BY room_nid",
        (user_nid, MEMBER_NID, json_array(sorted(room_nids))),
    )
    return {int(room): int(position) for room, position in rows}


def _content_values_txn(
    conn: sqlite3.Connection, nids: set[EventNID], path: str
) -> dict[EventNID, str]:
    if not nids:
        return {}
    rows = conn.execute(
        "SELECT event_nid, json_extract(json, ?) FROM events"
        " WHERE event_nid IN (SELECT value FROM json_each(?))",
        (path, json_array(sorted(nids))),
    )
    return {EventNID(nid): value for nid, value in rows if isinstance(value, str)}


def visibility_facts_txn(
    conn: sqlite3.Connection, user_id: str, event_ids: list[str]
) -> dict[str, tuple[str, str | None, bool]]:
    """``event_id -> (history_visibility, membership, joined_later)``: the
    visibility and the user's membership in the state before each stored
    non-outlier event among ``event_ids`` (others are left out), and whether
    the user has a join event later in the room's stream.
    The visibility defaults to ``shared``; the membership is None where the
    user has no member event in that state. The visibility value is returned
    as stored (a string); the pure rule treats unknown values as ``shared``."""
    snapshots = _snapshots_txn(conn, event_ids)
    if not snapshots:
        return {}
    user_nid = lookup_state_key_nids_txn(conn, [user_id]).get(user_id)
    keys: list[StateKeyTuple] = [_HISTORY_KEY]
    if user_nid is not None:
        keys.append((MEMBER_NID, user_nid))
    last_joins = (
        _last_joins_txn(conn, user_nid, {room for _, room, _ in snapshots.values()})
        if user_nid is not None
        else {}
    )
    per_snapshot: dict[StateSnapshotNID, tuple[EventNID | None, EventNID | None]] = {}
    for snapshot in {snapshot for snapshot, _, _ in snapshots.values()}:
        state = load_state_keys_txn(conn, snapshot, keys)
        history = state.get(_HISTORY_KEY)
        member = state.get((MEMBER_NID, user_nid)) if user_nid is not None else None
        per_snapshot[snapshot] = (history, member)
    visibilities = _content_values_txn(
        conn,
        {h for h, _ in per_snapshot.values() if h is not None},
        "$.content.history_visibility",
    )
    memberships = _content_values_txn(
        conn, {m for _, m in per_snapshot.values() if m is not None}, "$.content.membership"
    )
    facts: dict[str, tuple[str, str | None, bool]] = {}
    for event_id, (snapshot, room_nid, position) in snapshots.items():
        history, member = per_snapshot[snapshot]
        visibility = visibilities.get(history, _DEFAULT_VISIBILITY) if history else None
        membership = memberships.get(member) if member is not None else None
        last_join = last_joins.get(room_nid)
        joined_later = last_join is not None and (position is None or last_join > position)
        facts[event_id] = (visibility or _DEFAULT_VISIBILITY, membership, joined_later)
    return facts
