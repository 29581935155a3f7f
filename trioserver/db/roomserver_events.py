"""SQL of stored events: ``events``, ``event_edges``, ``event_auth``,
``forward_extremities``, and the stream position.

Contract:

* :func:`store_event_txn` is idempotent: an event already stored is left
  untouched and reported as such (input is never re-applied).
* A stream position is assigned, in the storing transaction, exactly to
  events clients may see (not outliers, not rejected, not soft-failed). The
  one writer serializes transactions, so positions grow in commit order and a
  reader that saw position ``p`` committed has seen every position below it.
* prev and auth events are stored as NID pairs; the NIDs of events not
  stored yet are assigned on the way (same room).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trioserver.db.nids import (
    NO_STATE_KEY,
    EventNID,
    EventTypeNID,
    RoomNID,
    StateKeyNID,
    StateSnapshotNID,
)
from trioserver.db.roomserver_nids import (
    event_ids_txn,
    get_or_create_event_nids_txn,
    get_or_create_state_key_nid_txn,
    get_or_create_type_nid_txn,
    json_array,
    lookup_event_nids_txn,
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to store, with its verdict. Non-outliers need both snapshots
    (state before the event, state after it: equal for a non-state event)."""

    event_id: str
    room_nid: RoomNID
    event_type: str
    state_key: str | None  #: None: not a state event
    depth: int
    origin_server_ts: int
    sender: str
    json: str  #: canonical JSON of the PDU
    prev_event_ids: Sequence[str]
    auth_event_ids: Sequence[str]
    received_ts: int
    is_outlier: bool = False
    rejected_reason: str | None = None
    is_soft_failed: bool = False
    state_before: StateSnapshotNID | None = None
    state_after: StateSnapshotNID | None = None
    #: False for history (backfill): stored with state but no live stream position.
    live: bool = True

    @property
    def is_visible(self) -> bool:
        """Whether the event gets a stream position (clients may see it live)."""
        return self.live and not (
            self.is_outlier or self.rejected_reason is not None or self.is_soft_failed
        )


@dataclass(frozen=True, slots=True)
class StoreResult:
    event_nid: EventNID
    stream_ordering: int | None  #: None: outlier, rejected or soft-failed
    already_stored: bool  #: True: nothing was written (the earlier verdict stands)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event_nid: EventNID
    event_id: str
    room_nid: RoomNID
    type_nid: EventTypeNID
    state_key_nid: StateKeyNID  #: 0: not a state event
    depth: int
    origin_server_ts: int
    sender: str
    stream_ordering: int | None
    is_outlier: bool
    rejected_reason: str | None
    is_soft_failed: bool
    redacted_by: EventNID | None
    state_before: StateSnapshotNID | None
    state_after: StateSnapshotNID | None
    json: str


_EVENT_COLUMNS = (
    "e.event_nid, i.event_id, e.room_nid, e.type_nid, e.state_key_nid, e.depth,"
    " e.origin_server_ts, e.sender, e.stream_ordering, e.is_outlier, e.rejected_reason,"
    " e.is_soft_failed, e.redacted_by, e.state_before_snapshot_nid,"
    " e.state_after_snapshot_nid, e.json"
)


def _stored_event(row: Any) -> StoredEvent:
    return StoredEvent(
        event_nid=EventNID(row[0]),
        event_id=row[1],
        room_nid=RoomNID(row[2]),
        type_nid=EventTypeNID(row[3]),
        state_key_nid=StateKeyNID(row[4]),
        depth=row[5],
        origin_server_ts=row[6],
        sender=row[7],
        stream_ordering=row[8],
        is_outlier=bool(row[9]),
        rejected_reason=row[10],
        is_soft_failed=bool(row[11]),
        redacted_by=None if row[12] is None else EventNID(row[12]),
        state_before=None if row[13] is None else StateSnapshotNID(row[13]),
        state_after=None if row[14] is None else StateSnapshotNID(row[14]),
        json=row[15],
    )


def store_event_txn(conn: sqlite3.Connection, event: NewEvent) -> StoreResult:
    """Store ``event`` with its edges and, if visible, the next stream position
    (also recorded as the room's latest). An event already stored is untouched."""
    event_nid = get_or_create_event_nids_txn(conn, event.room_nid, [event.event_id])[event.event_id]
    existing = conn.execute(
        "SELECT stream_ordering FROM events WHERE event_nid = ?", (event_nid,)
    ).fetchone()
    if existing is not None:
        return StoreResult(event_nid, existing[0], already_stored=True)
    type_nid = get_or_create_type_nid_txn(conn, event.event_type)
    state_key_nid = (
        NO_STATE_KEY
        if event.state_key is None
        else get_or_create_state_key_nid_txn(conn, event.state_key)
    )
    stream: int | None = None
    if event.is_visible:
        stream = latest_stream_position_txn(conn) + 1
    conn.execute(
        "INSERT INTO events (event_nid, room_nid, type_nid, state_key_nid, depth,"
        " origin_server_ts, sender, stream_ordering, is_outlier, rejected_reason,"
        " is_soft_failed, state_before_snapshot_nid, state_after_snapshot_nid,"
        " received_ts, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event_nid,
            event.room_nid,
            type_nid,
            state_key_nid,
            event.depth,
            event.origin_server_ts,
            event.sender,
            stream,
            int(event.is_outlier),
            event.rejected_reason,
            int(event.is_soft_failed),
            event.state_before,
            event.state_after,
            event.received_ts,
            event.json,
        ),
    )
    linked = get_or_create_event_nids_txn(
        conn, event.room_nid, [*event.prev_event_ids, *event.auth_event_ids]
    )
    conn.executemany(
        "INSERT OR IGNORE INTO event_edges (event_nid, prev_event_nid) VALUES (?, ?)",
        [(event_nid, linked[prev]) for prev in event.prev_event_ids],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO event_auth (event_nid, auth_event_nid) VALUES (?, ?)",
        [(event_nid, linked[auth]) for auth in event.auth_event_ids],
    )
    if stream is not None:
        conn.execute(
            "UPDATE rooms SET last_stream_ordering = ? WHERE room_nid = ?",
            (stream, event.room_nid),
        )
    return StoreResult(event_nid, stream, already_stored=False)


def get_events_txn(
    conn: sqlite3.Connection, nids: Iterable[EventNID]
) -> dict[EventNID, StoredEvent]:
    """The stored events among ``nids`` (NIDs only assigned are left out)."""
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM events AS e JOIN event_ids AS i USING (event_nid)"
        " WHERE e.event_nid IN (SELECT value FROM json_each(?))",
        (json_array(nids),),
    )
    return {event.event_nid: event for event in map(_stored_event, rows)}


def get_events_by_id_txn(
    conn: sqlite3.Connection, event_ids: Iterable[str]
) -> dict[str, StoredEvent]:
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM event_ids AS i JOIN events AS e USING (event_nid)"
        " WHERE i.event_id IN (SELECT value FROM json_each(?))",
        (json_array(event_ids),),
    )
    return {event.event_id: event for event in map(_stored_event, rows)}


def stored_event_nids_txn(conn: sqlite3.Connection, nids: Iterable[EventNID]) -> set[EventNID]:
    """Which of ``nids`` are stored events (the others are only referenced: missing)."""
    rows = conn.execute(
        "SELECT event_nid FROM events WHERE event_nid IN (SELECT value FROM json_each(?))",
        (json_array(nids),),
    )
    return {EventNID(row[0]) for row in rows}


def prev_event_nids_txn(
    conn: sqlite3.Connection, nids: Iterable[EventNID]
) -> dict[EventNID, list[EventNID]]:
    rows = conn.execute(
        "SELECT event_nid, prev_event_nid FROM event_edges"
        " WHERE event_nid IN (SELECT value FROM json_each(?))",
        (json_array(nids),),
    )
    result: dict[EventNID, list[EventNID]] = {}
    for event_nid, prev in rows:
        result.setdefault(EventNID(event_nid), []).append(EventNID(prev))
    return result


def auth_event_nids_txn(
    conn: sqlite3.Connection, nids: Iterable[EventNID]
) -> dict[EventNID, list[EventNID]]:
    rows = conn.execute(
        "SELECT event_nid, auth_event_nid FROM event_auth"
        " WHERE event_nid IN (SELECT value FROM json_each(?))",
        (json_array(nids),),
    )
    result: dict[EventNID, list[EventNID]] = {}
    for event_nid, auth in rows:
        result.setdefault(EventNID(event_nid), []).append(EventNID(auth))
    return result


def auth_chain_txn(conn: sqlite3.Connection, nids: Iterable[EventNID]) -> set[EventNID]:
    """The auth chain of ``nids``: their auth events, theirs, and so on (the
    events themselves only if one is in another's chain). Includes NIDs of auth
    events not stored; check with :func:`stored_event_nids_txn`."""
    rows = conn.execute(
        "WITH RECURSIVE chain (event_nid) AS ("
        " SELECT auth_event_nid FROM event_auth"
        "  WHERE event_nid IN (SELECT value FROM json_each(?))"
        " UNION"
        " SELECT a.auth_event_nid FROM event_auth AS a JOIN chain AS c"
        "  ON a.event_nid = c.event_nid"
        ") SELECT event_nid FROM chain",
        (json_array(nids),),
    )
    return {EventNID(row[0]) for row in rows}


def auth_chain_ids_txn(conn: sqlite3.Connection, event_ids: Iterable[str]) -> list[str]:
    """:func:`auth_chain_txn` in event IDs, stored events only (federation's
    ``/event_auth`` and ``/state`` answers), sorted."""
    nids = lookup_event_nids_txn(conn, event_ids).values()
    chain = stored_event_nids_txn(conn, auth_chain_txn(conn, nids))
    return sorted(event_ids_txn(conn, chain).values())


def set_redacted_by_txn(
    conn: sqlite3.Connection, event_nid: EventNID, redaction_nid: EventNID
) -> None:
    """Record that ``redaction_nid`` (a validated redaction) applies to ``event_nid``."""
    conn.execute(
        "UPDATE events SET redacted_by = ? WHERE event_nid = ?", (redaction_nid, event_nid)
    )


# -- stream positions ------------------------------------------------------


def latest_stream_position_txn(conn: sqlite3.Connection) -> int:
    """The highest stream position assigned (0 before the first event)."""
    # The WHERE lets SQLite answer from the partial index events_stream (one
    # step down a b-tree); without it, max() scans the whole table.
    row = conn.execute(
        "SELECT max(stream_ordering) FROM events WHERE stream_ordering IS NOT NULL"
    ).fetchone()
    return int(row[0] or 0)


# -- forward extremities ---------------------------------------------------


def forward_extremities_txn(conn: sqlite3.Connection, room_nid: RoomNID) -> list[EventNID]:
    rows = conn.execute(
        "SELECT event_nid FROM forward_extremities WHERE room_nid = ? ORDER BY event_nid",
        (room_nid,),
    )
    return [EventNID(row[0]) for row in rows]


def set_forward_extremities_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, nids: Iterable[EventNID]
) -> None:
    """Replace the room's forward extremities with ``nids``."""
    conn.execute("DELETE FROM forward_extremities WHERE room_nid = ?", (room_nid,))
    conn.executemany(
        "INSERT OR IGNORE INTO forward_extremities (room_nid, event_nid) VALUES (?, ?)",
        [(room_nid, nid) for nid in nids],
    )


def add_forward_extremity_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, event_nid: EventNID
) -> list[EventNID]:
    """Make the stored ``event_nid`` an extremity in place of its prev events,
    unless a stored visible event already names it as a prev event (it came in
    late). Returns the room's extremities afterwards."""
    conn.execute(
        "DELETE FROM forward_extremities WHERE room_nid = ? AND event_nid IN"
        " (SELECT prev_event_nid FROM event_edges WHERE event_nid = ?)",
        (room_nid, event_nid),
    )
    has_successor = conn.execute(
        "SELECT 1 FROM event_edges AS g JOIN events AS e ON e.event_nid = g.event_nid"
        " WHERE g.prev_event_nid = ? AND e.stream_ordering IS NOT NULL LIMIT 1",
        (event_nid,),
    ).fetchone()
    if has_successor is None:
        conn.execute(
            "INSERT OR IGNORE INTO forward_extremities (room_nid, event_nid) VALUES (?, ?)",
            (room_nid, event_nid),
        )
    return forward_extremities_txn(conn, room_nid)
