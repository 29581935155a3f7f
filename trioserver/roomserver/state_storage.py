"""Room state storage: the pure block planner joined to the state SQL.

These are ``*_txn`` functions made only of ``trioserver.db`` txn functions and
pure planning (no SQL here): run them inside a write (or, for reads, a read)
transaction of the database, typically as part of one input's transaction.
"""

from __future__ import annotations

import sqlite3

from trioserver.db.roomserver_current import current_state_txn, update_current_state_txn
from trioserver.db.roomserver_nids import room_info_by_nid_txn
from trioserver.db.roomserver_state import (
    load_blocks_txn,
    load_state_keys_txn,
    load_state_txn,
    snapshot_block_nids_txn,
    store_snapshot_txn,
)
from trioserver.roomserver.state_blocks import (
    StateChanges,
    StateDelta,
    append_block,
    changes_for,
    diff_states,
    effective_changes,
    flatten,
    plan_snapshot,
)
from trioserver.roomserver.types import (
    MAX_BLOCKS_PER_SNAPSHOT,
    RoomNID,
    StateMap,
    StateSnapshotNID,
)


def store_state_changes_txn(
    conn: sqlite3.Connection,
    room_nid: RoomNID,
    previous: StateSnapshotNID | None,
    changes: StateChanges,
    *,
    max_blocks: int = MAX_BLOCKS_PER_SNAPSHOT,
) -> StateSnapshotNID:
    """The snapshot of ``previous`` (None: empty state) with ``changes``
    applied, stored sharing every block it can. No effective change returns
    ``previous`` itself: a message event costs no state rows at all."""
    if previous is None:
        return store_snapshot_txn(conn, room_nid, plan_snapshot([], changes))
    block_nids = snapshot_block_nids_txn(conn, previous)
    if len(block_nids) < max_blocks:
        # The common case: no compaction, so only the changed keys are read.
        before = load_state_keys_txn(conn, previous, changes.keys())
        layout = append_block(block_nids, effective_changes(before, changes))
    else:
        layout = plan_snapshot(load_blocks_txn(conn, previous), changes, max_blocks=max_blocks)
    if layout == tuple(block_nids):
        return previous
    return store_snapshot_txn(conn, room_nid, layout)


def store_state_txn(
    conn: sqlite3.Connection,
    room_nid: RoomNID,
    state: StateMap,
    base: StateSnapshotNID | None,
) -> StateSnapshotNID:
    """Store a whole state (e.g. the result of state resolution) as changes
    against ``base`` (one of the snapshots it was resolved from), so it shares
    ``base``'s blocks."""
    blocks = load_blocks_txn(conn, base) if base is not None else []
    changes = changes_for(diff_states(flatten(b.entries for b in blocks), state))
    layout = plan_snapshot(blocks, changes)
    if base is not None and layout == tuple(block.block_nid for block in blocks):
        return base
    return store_snapshot_txn(conn, room_nid, layout)


def set_current_state_txn(
    conn: sqlite3.Connection, room_nid: RoomNID, snapshot_nid: StateSnapshotNID
) -> StateDelta:
    """Make ``snapshot_nid`` the room's current state (``current_state``,
    ``memberships``, ``rooms.current_snapshot_nid``) and return what changed:
    the output event's adds and removes."""
    info = room_info_by_nid_txn(conn, room_nid)
    if info is None:
        raise LookupError(f"no room with NID {room_nid}")
    if info.current_snapshot_nid == snapshot_nid:
        return StateDelta()
    delta = diff_states(current_state_txn(conn, room_nid), load_state_txn(conn, snapshot_nid))
    update_current_state_txn(conn, room_nid, snapshot_nid, delta.added, delta.removed)
    return delta
