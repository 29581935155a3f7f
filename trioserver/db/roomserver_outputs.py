"""SQL for the roomserver's output stream: per-event state deltas and catch-up reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from trioserver.db.nids import (
    EMPTY_STATE_KEY_NID,
    HISTORY_VISIBILITY_NID,
    EventNID,
    RoomNID,
    StateSnapshotNID,
)
from trioserver.db.roomserver_nids import event_ids_txn
from trioserver.db.roomserver_state import load_state_keys_txn


def record_state_delta_txn(
    conn: sqlite3.Connection,
    stream_ordering: int,
    room_nid: RoomNID,
    adds: Iterable[EventNID],
    removes: Iterable[EventNID],
) -> None:
    conn.execute(
        "INSERT INTO state_deltas (stream_ordering, room_nid, adds, removes) VALUES (?, ?, ?, ?)",
        (stream_ordering, room_nid, json.dumps(sorted(adds)), json.dumps(sorted(removes))),
    )


@dataclass(frozen=True, slots=True)
class OutputRow:
    """One client-visible event as the output stream carries it (string IDs)."""

    position: int
    room_id: str
    room_version: str
    event_id: str
    json: str
    adds_state: tuple[str, ...]
    removes_state: tuple[str, ...]
    history_visibility_event_json: str | None


def output_rows_txn(conn: sqlite3.Connection, after: int, upto: int) -> list[OutputRow]:
    """The visible events with ``after < stream_ordering <= upto``, oldest first,
    with their state deltas and the history-visibility event in force before them."""
    rows = conn.execute(
        "SELECT e.stream_ordering, r.room_id, r.room_version, i.event_id, e.json,"
        " d.adds, d.removes, e.state_before_snapshot_nid"
        " FROM events AS e"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " JOIN rooms AS r ON r.room_nid = e.room_nid"
        " LEFT JOIN state_deltas AS d ON d.stream_ordering = e.stream_ordering"
        " WHERE e.stream_ordering > ? AND e.stream_ordering <= ?"
        " ORDER BY e.stream_ordering",
        (after, upto),
    ).fetchall()
    nids: set[int] = set()
    parsed = []
    for position, room_id, version, event_id, pdu, adds, removes, before in rows:
        add_nids = json.loads(adds) if adds else []
        remove_nids = json.loads(removes) if removes else []
        nids.update(add_nids, remove_nids)
        hv: EventNID | None = None
        if before is not None:
            found = load_state_keys_txn(
                conn, StateSnapshotNID(before), [(HISTORY_VISIBILITY_NID, EMPTY_STATE_KEY_NID)]
            )
            hv = found.get((HISTORY_VISIBILITY_NID, EMPTY_STATE_KEY_NID))
            if hv is not None:
                nids.add(hv)
        parsed.append((position, room_id, version, event_id, pdu, add_nids, remove_nids, hv))
    ids = event_ids_txn(conn, [EventNID(n) for n in nids])
    hv_json: dict[int, str] = {}
    hv_nids = [p[7] for p in parsed if p[7] is not None]
    if hv_nids:
        placeholders = ",".join("?" * len(hv_nids))
        hv_json = dict(
            conn.execute(
                f"SELECT event_nid, json FROM events WHERE event_nid IN ({placeholders})",
                hv_nids,
            ).fetchall()
        )
    return [
        OutputRow(
            position=position,
            room_id=room_id,
            room_version=version,
            event_id=event_id,
            json=pdu,
            adds_state=tuple(ids[EventNID(n)] for n in add_nids),
            removes_state=tuple(ids[EventNID(n)] for n in remove_nids),
            history_visibility_event_json=hv_json.get(hv) if hv is not None else None,
        )
        for position, room_id, version, event_id, pdu, add_nids, remove_nids, hv in parsed
    ]
