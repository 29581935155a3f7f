"""SQL of state snapshots: ``state_blocks``, ``state_block_entries``,
``state_snapshots``, ``state_snapshot_blocks``.

Contract:

* Blocks and snapshots are immutable once stored and content-addressed per
  room: storing an identical block (same entries) or snapshot (same block
  list) returns the existing NID and writes nothing. Identity is a SHA-256
  over the canonical encoding (entries sorted by type, then state key; the
  block list in order).
* A snapshot is an ordered list of at most ``MAX_BLOCKS_PER_SNAPSHOT``
  blocks, later blocks overriding earlier ones; an entry with event NID 0
  removes its key. What to put in a new snapshot is planned by the pure
  ``trioserver.roomserver.state_blocks``; this module only stores and loads.
* Loading a snapshot's state is one query over the snapshot's block list
  joined to the entries, in block order, flattened here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from collections.abc import Iterable, Sequence

from trioserver.db.nids import (
    MAX_BLOCKS_PER_SNAPSHOT,
    NO_EVENT,
    EventNID,
    EventTypeNID,
    LoadedBlock,
    NewBlock,
    RoomNID,
    SnapshotLayout,
    StateBlockNID,
    StateEntry,
    StateKeyNID,
    StateKeyTuple,
    StateMap,
    StateSnapshotNID,
)
from trioserver.db.roomserver_nids import json_array, lookup_event_nids_txn

_ENTRY = struct.Struct(">qqq")
_NID = struct.Struct(">q")


def block_hash(entries: Sequence[StateEntry]) -> bytes:
    """The identity of a block: SHA-256 of its entries in canonical order."""
    digest = hashlib.sha256(b"block\0")
    for entry in sorted(entries):
        digest.update(_ENTRY.pack(*entry))
    return digest.digest()


def snapshot_hash(block_nids: Sequence[StateBlockNID]) -> bytes:
    """The identity of a snapshot: SHA-256 of its block NIDs in order."""
    digest = hashlib.sha256(b"snapshot\0")
    for nid in block_nids:
        digest.update(_NID.pack(nid))
    return digest.digest()


def store_block_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, entries: Iterable[StateEntry]
) -> StateBlockNID:
    """Store a block of ``room_nid`` (or find the identical one). Each
    (type, state key) may appear once; the block may be empty."""
    ordered = sorted(entries)
    if len({(e.type_nid, e.state_key_nid) for e in ordered}) != len(ordered):
        raise ValueError("a state block holds each (type, state key) at most once")
    content_hash = block_hash(ordered)
    row = conn.execute(
        "SELECT block_nid FROM state_blocks WHERE room_nid = ? AND content_hash = ?",
        (room_nid, content_hash),
    ).fetchone()
    if row is not None:
        return StateBlockNID(row[0])
    cursor = conn.execute(
        "INSERT INTO state_blocks (room_nid, content_hash, entry_count) VALUES (?, ?, ?)",
        (room_nid, content_hash, len(ordered)),
    )
    assert cursor.lastrowid is not None
    block_nid = StateBlockNID(cursor.lastrowid)
    conn.executemany(
        "INSERT INTO state_block_entries (block_nid, type_nid, state_key_nid, event_nid)"
        " VALUES (?, ?, ?, ?)",
        [(block_nid, *entry) for entry in ordered],
    )
    return block_nid


def store_snapshot_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, layout: SnapshotLayout
) -> StateSnapshotNID:
    """Store the snapshot ``layout`` describes (new blocks stored first, or
    found), or find the identical stored snapshot. The layout's stored blocks
    must belong to ``room_nid``."""
    if len(layout) > MAX_BLOCKS_PER_SNAPSHOT:
        raise ValueError(f"a snapshot holds at most {MAX_BLOCKS_PER_SNAPSHOT} blocks")
    block_nids = [
        store_block_txn(conn, room_nid, item.entries) if isinstance(item, NewBlock) else item
        for item in layout
    ]
    content_hash = snapshot_hash(block_nids)
    row = conn.execute(
        "SELECT snapshot_nid FROM state_snapshots WHERE room_nid = ? AND content_hash = ?",
        (room_nid, content_hash),
    ).fetchone()
    if row is not None:
        return StateSnapshotNID(row[0])
    cursor = conn.execute(
        "INSERT INTO state_snapshots (room_nid, content_hash) VALUES (?, ?)",
        (room_nid, content_hash),
    )
    assert cursor.lastrowid is not None
    snapshot_nid = StateSnapshotNID(cursor.lastrowid)
    conn.executemany(
        "INSERT INTO state_snapshot_blocks (snapshot_nid, position, block_nid) VALUES (?, ?, ?)",
        [(snapshot_nid, position, nid) for position, nid in enumerate(block_nids)],
    )
    return snapshot_nid


def snapshot_block_nids_txn(
    conn: sqlite3.Connection, snapshot_nid: StateSnapshotNID
) -> list[StateBlockNID]:
    rows = conn.execute(
        "SELECT block_nid FROM state_snapshot_blocks WHERE snapshot_nid = ? ORDER BY position",
        (snapshot_nid,),
    )
    return [StateBlockNID(row[0]) for row in rows]


def load_blocks_txn(conn: sqlite3.Connection, snapshot_nid: StateSnapshotNID) -> list[LoadedBlock]:
    """The snapshot's blocks in order, with their entries (tombstones
    included): the input of ``state_blocks.plan_snapshot``."""
    blocks: list[LoadedBlock] = []
    rows = conn.execute(
        "SELECT s.block_nid, e.type_nid, e.state_key_nid, e.event_nid"
        " FROM state_snapshot_blocks AS s"
        " LEFT JOIN state_block_entries AS e ON e.block_nid = s.block_nid"
        " WHERE s.snapshot_nid = ? ORDER BY s.position",
        (snapshot_nid,),
    )
    for block_nid, type_nid, state_key_nid, event_nid in rows:
        if not blocks or blocks[-1].block_nid != block_nid:
            blocks.append(LoadedBlock(StateBlockNID(block_nid), {}))
        if type_nid is not None:  # an empty block joins to one row of NULLs
            blocks[-1].entries[(type_nid, state_key_nid)] = event_nid
    return blocks


def _flatten_rows(rows: Iterable[tuple[int, int, int]]) -> StateMap:
    state: dict[StateKeyTuple, EventNID] = {}
    for type_nid, state_key_nid, event_nid in rows:
        state[(EventTypeNID(type_nid), StateKeyNID(state_key_nid))] = EventNID(event_nid)
    return {key: event for key, event in state.items() if event != NO_EVENT}


def load_state_txn(
    conn: sqlite3.Connection,
    snapshot_nid: StateSnapshotNID,
    type_nids: Iterable[EventTypeNID] | None = None,
) -> StateMap:
    """The flattened state of a snapshot (optionally only the given types), in
    one query."""
    sql = (
        "SELECT e.type_nid, e.state_key_nid, e.event_nid"
        " FROM state_snapshot_blocks AS s JOIN state_block_entries AS e"
        " ON e.block_nid = s.block_nid WHERE s.snapshot_nid = ?"
    )
    params: tuple[object, ...] = (snapshot_nid,)
    if type_nids is not None:
        sql += " AND e.type_nid IN (SELECT value FROM json_each(?))"
        params += (json_array(type_nids),)
    return _flatten_rows(conn.execute(sql + " ORDER BY s.position", params))


def load_state_keys_txn(
    conn: sqlite3.Connection, snapshot_nid: StateSnapshotNID, keys: Iterable[StateKeyTuple]
) -> StateMap:
    """The snapshot's events for just ``keys`` (absent keys are left out): a
    few primary-key lookups per block, however big the state."""
    rows = conn.execute(
        "SELECT e.type_nid, e.state_key_nid, e.event_nid"
        " FROM state_snapshot_blocks AS s CROSS JOIN json_each(?) AS j"
        " CROSS JOIN state_block_entries AS e ON e.block_nid = s.block_nid"
        "  AND e.type_nid = json_extract(j.value, '$[0]')"
        "  AND e.state_key_nid = json_extract(j.value, '$[1]')"
        " WHERE s.snapshot_nid = ? ORDER BY s.position",
        (json.dumps([list(key) for key in keys]), snapshot_nid),
    )
    return _flatten_rows(rows)


def load_states_txn(
    conn: sqlite3.Connection, snapshot_nids: Iterable[StateSnapshotNID]
) -> dict[StateSnapshotNID, StateMap]:
    """The flattened states of several snapshots (state resolution over forks)."""
    rows: dict[StateSnapshotNID, list[tuple[int, int, int]]] = {}
    for snapshot, type_nid, state_key_nid, event_nid in conn.execute(
        "SELECT s.snapshot_nid, e.type_nid, e.state_key_nid, e.event_nid"
        " FROM state_snapshot_blocks AS s JOIN state_block_entries AS e"
        " ON e.block_nid = s.block_nid"
        " WHERE s.snapshot_nid IN (SELECT value FROM json_each(?))"
        " ORDER BY s.snapshot_nid, s.position",
        (json_array(sorted(set(snapshot_nids))),),
    ):
        rows.setdefault(StateSnapshotNID(snapshot), []).append((type_nid, state_key_nid, event_nid))
    return {snapshot: _flatten_rows(entries) for snapshot, entries in rows.items()}


def event_snapshot_txn(
    conn: sqlite3.Connection, event_nid: EventNID, *, after: bool = False
) -> StateSnapshotNID | None:
    """The snapshot of the state before (or after) a stored event; None for
    outliers and events not stored."""
    column = "state_after_snapshot_nid" if after else "state_before_snapshot_nid"
    row = conn.execute(f"SELECT {column} FROM events WHERE event_nid = ?", (event_nid,)).fetchone()
    return None if row is None or row[0] is None else StateSnapshotNID(row[0])


def state_at_event_txn(
    conn: sqlite3.Connection, event_nid: EventNID, *, after: bool = False
) -> StateMap | None:
    """The state before (or after) a stored event; None for outliers and
    events not stored."""
    snapshot = event_snapshot_txn(conn, event_nid, after=after)
    return None if snapshot is None else load_state_txn(conn, snapshot)


def state_ids_at_event_txn(conn: sqlite3.Connection, event_id: str) -> list[str] | None:
    """The event IDs of the state before ``event_id`` (federation's
    ``/state_ids``), sorted; None if that state is not known here."""
    nid = lookup_event_nids_txn(conn, [event_id]).get(event_id)
    if nid is None:
        return None
    snapshot = event_snapshot_txn(conn, nid)
    if snapshot is None:
        return None
    rows = conn.execute(
        "SELECT i.event_id FROM event_ids AS i"
        " WHERE i.event_nid IN (SELECT value FROM json_each(?)) ORDER BY i.event_id",
        (json_array(load_state_txn(conn, snapshot).values()),),
    )
    return [row[0] for row in rows]
