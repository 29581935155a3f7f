"""The write transaction of one processed event (see :mod:`trioserver.roomserver.process`).

Everything an event changes commits together: its state snapshots, the
event row, the forward extremities, the current state and the state delta
the output stream carries, the client's transaction ID, an applied
redaction. Pure SQL composition: run it through ``Database.run_write``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from trioserver.db.nids import EventNID, RoomNID, StateSnapshotNID
from trioserver.db.replaced_state import record_replaced_txn
from trioserver.db.room_txns import record_txn_txn
from trioserver.db.roomserver_current import update_current_state_txn
from trioserver.db.roomserver_events import (
    NewEvent,
    set_forward_extremities_txn,
    set_redacted_by_txn,
    store_event_txn,
)
from trioserver.db.roomserver_nids import (
    event_ids_txn,
    get_or_create_event_nids_txn,
    get_or_create_room_nid_txn,
    get_or_create_state_key_nid_txn,
    get_or_create_state_key_nids_txn,
    get_or_create_type_nid_txn,
    get_or_create_type_nids_txn,
    state_keys_txn,
    type_names_txn,
)
from trioserver.db.roomserver_outputs import record_state_delta_txn
from trioserver.db.roomserver_state import load_states_txn
from trioserver.protocol.events import auth_event_ids, prev_event_ids
from trioserver.protocol.json import canonical_json
from trioserver.protocol.room_versions import RoomVersion
from trioserver.roomserver.context import PDU, StateKey
from trioserver.roomserver.inputs import InputKind, TransactionKey
from trioserver.roomserver.state_storage import store_state_changes_txn, store_state_txn


@dataclass
class Plan:
    """Everything the write transaction needs, decided before it runs."""

    event_id: str
    pdu: PDU
    kind: InputKind
    rejection: str | None
    soft_failure: str | None
    state_before: dict[StateKey, str]
    before_snapshot: StateSnapshotNID | None  #: None: store ``state_before``
    before_base: StateSnapshotNID | None  #: a snapshot ``state_before`` shares blocks with
    new_extremities: dict[str, int] | None  #: None: unchanged
    new_current: dict[StateKey, str] | None  #: None: unchanged; else the full new state
    linear: bool  #: new current state = state after this event, by construction
    apply_redaction_to: str | None = None
    #: a client's transaction ID, recorded in the same commit as the event
    transaction: TransactionKey | None = None


class CommitResult(NamedTuple):
    room_nid: RoomNID
    position: int | None  #: stream position; None unless the event is client-visible
    current: StateSnapshotNID | None  #: the room's new current snapshot, if it moved
    adds: tuple[str, ...]  #: state event IDs added to current state
    removes: tuple[str, ...]  #: state event IDs removed from it


def commit_event_txn(
    conn: sqlite3.Connection,
    plan: Plan,
    room_id: str,
    known_room_nid: RoomNID | None,
    version: RoomVersion,
    old_current: Mapping[StateKey, str],
    now: int,
) -> CommitResult:
    """Store one processed event in one transaction: its state snapshots, the
    event, the forward extremities, the current state and its delta, the
    client's transaction ID and an applied redaction. ``old_current`` is the
    room's current state before it (the worker's context)."""
    room_nid = known_room_nid or get_or_create_room_nid_txn(conn, room_id, version.identifier)
    event_nid = get_or_create_event_nids_txn(conn, room_nid, [plan.event_id])[plan.event_id]
    before = plan.before_snapshot
    if before is None:
        if plan.state_before:
            before = store_state_txn(
                conn,
                room_nid,
                to_nids(conn, room_nid, plan.state_before),
                plan.before_base,
            )
        else:
            before = store_state_changes_txn(conn, room_nid, None, {})
    after = before
    key = key_of(plan.pdu) if "state_key" in plan.pdu else None
    if key is not None and plan.rejection is None:
        type_nid = get_or_create_type_nid_txn(conn, key[0])
        key_nid = get_or_create_state_key_nid_txn(conn, key[1])
        after = store_state_changes_txn(conn, room_nid, before, {(type_nid, key_nid): event_nid})
    result = store_event_txn(
        conn,
        stored_event_row(
            room_nid,
            plan.event_id,
            plan.pdu,
            now,
            rejected=plan.rejection,
            soft_failed=plan.soft_failure is not None,
            before=before,
            after=after,
            live=plan.kind is not InputKind.BACKFILL,
        ),
    )
    if key is not None and plan.rejection is None and plan.kind is not InputKind.OUTLIER:
        replaced = plan.state_before.get(key)
        if replaced is not None and replaced != plan.event_id:
            replaced_nid = get_or_create_event_nids_txn(conn, room_nid, [replaced])[replaced]
            record_replaced_txn(conn, event_nid, replaced_nid)
    current: StateSnapshotNID | None = None
    adds: tuple[str, ...] = ()
    removes: tuple[str, ...] = ()
    if plan.new_extremities is not None:
        ext_nids = get_or_create_event_nids_txn(conn, room_nid, plan.new_extremities)
        set_forward_extremities_txn(conn, room_nid, ext_nids.values())
    if plan.new_current is not None:
        if plan.linear:
            current = after
        else:
            current = store_state_txn(
                conn, room_nid, to_nids(conn, room_nid, plan.new_current), after
            )
        if plan.linear and plan.state_before is old_current:
            # The new current state is the old one plus this event:
            # the delta is its key alone (no walk over a large state).
            added, removed = {}, {}
            if key is not None and plan.rejection is None:
                added = {key: plan.event_id}
                if key in old_current:
                    removed = {key: old_current[key]}
        else:
            added = {k: v for k, v in plan.new_current.items() if old_current.get(k) != v}
            removed = {k: v for k, v in old_current.items() if plan.new_current.get(k) != v}
        added_nids = to_nids(conn, room_nid, added)
        removed_nids = to_nids(conn, room_nid, removed)
        update_current_state_txn(conn, room_nid, current, added_nids, removed_nids)
        adds, removes = tuple(sorted(added.values())), tuple(sorted(removed.values()))
        if (adds or removes) and result.stream_ordering is not None:
            record_state_delta_txn(
                conn,
                result.stream_ordering,
                room_nid,
                added_nids.values(),
                removed_nids.values(),
            )
    if plan.transaction is not None and plan.rejection is None:
        txn = plan.transaction
        record_txn_txn(
            conn,
            txn.user_id,
            txn.device_id,
            txn.scope,
            txn.txn_id,
            room_id,
            plan.event_id,
            now,
        )
    if plan.apply_redaction_to is not None:
        target = get_or_create_event_nids_txn(conn, room_nid, [plan.apply_redaction_to])
        set_redacted_by_txn(conn, target[plan.apply_redaction_to], event_nid)
    return CommitResult(room_nid, result.stream_ordering, current, adds, removes)


def key_of(pdu: Mapping[str, Any]) -> StateKey:
    return (str(pdu.get("type")), str(pdu.get("state_key")))


def stored_event_row(
    room_nid: RoomNID,
    event_id: str,
    pdu: PDU,
    received_ts: int,
    *,
    outlier: bool = False,
    rejected: str | None = None,
    soft_failed: bool = False,
    before: StateSnapshotNID | None = None,
    after: StateSnapshotNID | None = None,
    live: bool = True,
) -> NewEvent:
    state_key = pdu.get("state_key")
    return NewEvent(
        event_id=event_id,
        room_nid=room_nid,
        event_type=str(pdu.get("type")),
        state_key=state_key if isinstance(state_key, str) else None,
        depth=int(pdu.get("depth", 0)),
        origin_server_ts=int(pdu.get("origin_server_ts", 0)),
        sender=str(pdu.get("sender")),
        json=canonical_json(pdu).decode("utf-8"),
        prev_event_ids=prev_event_ids(pdu),
        auth_event_ids=auth_event_ids(pdu),
        received_ts=received_ts,
        is_outlier=outlier,
        rejected_reason=rejected,
        is_soft_failed=soft_failed,
        state_before=before,
        state_after=after,
        live=live,
    )


def to_nids(
    conn: sqlite3.Connection, room_nid: RoomNID, state: Mapping[StateKey, str]
) -> dict[tuple[Any, Any], EventNID]:
    types = get_or_create_type_nids_txn(conn, {t for t, _ in state})
    keys = get_or_create_state_key_nids_txn(conn, {k for _, k in state})
    events = get_or_create_event_nids_txn(conn, room_nid, set(state.values()))
    return {(types[t], keys[k]): events[e] for (t, k), e in state.items()}


def string_states_txn(
    conn: sqlite3.Connection, snapshots: list[StateSnapshotNID]
) -> list[dict[StateKey, str]]:
    loaded = load_states_txn(conn, snapshots)
    type_nids = {t for s in loaded.values() for t, _ in s}
    key_nids = {k for s in loaded.values() for _, k in s}
    event_nids = {e for s in loaded.values() for e in s.values()}
    types = type_names_txn(conn, type_nids)
    keys = state_keys_txn(conn, key_nids)
    ids = event_ids_txn(conn, event_nids)
    return [
        {(types[t], keys[k]): ids[e] for (t, k), e in loaded[snapshot].items()}
        for snapshot in snapshots
    ]
