"""What a room's worker keeps in memory about its room, and the caches of events.

Only the room's own worker changes a :class:`RoomContext` (after each commit),
so it always equals what the database holds for the room.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from trioserver.db.nids import RoomNID, StateSnapshotNID
from trioserver.db.roomserver_current import current_state_txn
from trioserver.db.roomserver_events import forward_extremities_txn, get_events_txn
from trioserver.db.roomserver_nids import (
    event_ids_txn,
    room_info_txn,
    state_keys_txn,
    type_names_txn,
)
from trioserver.protocol.room_versions import RoomVersion, room_version
from trioserver.util.lru import LRU

StateKey = tuple[str, str]
PDU = dict[str, Any]


@dataclass
class RoomContext:
    room_id: str
    version: RoomVersion
    room_nid: RoomNID | None = None  #: None until the create event is stored
    current_snapshot: StateSnapshotNID | None = None
    #: (type, state_key) -> event ID of the room's current state
    current_state: dict[StateKey, str] = field(default_factory=dict)
    #: forward extremities: event ID -> depth
    extremities: dict[str, int] = field(default_factory=dict)

    @property
    def create_event_id(self) -> str | None:
        return self.current_state.get(("m.room.create", ""))


class EventCache(LRU[str, PDU]):
    """A bounded LRU of PDUs by event ID (events never change once stored;
    redaction is applied when serving them, not here)."""

    def __init__(self, size: int = 10_000) -> None:
        super().__init__(size)

    def missing(self, event_ids: Iterable[str]) -> list[str]:
        return [e for e in event_ids if e not in self]


def load_room_context_txn(conn: sqlite3.Connection, room_id: str) -> RoomContext | None:
    """The context of a stored room (None if we have no events of it)."""
    info = room_info_txn(conn, room_id)
    if info is None:
        return None
    ctx = RoomContext(room_id, room_version(info.room_version), RoomNID(info.room_nid))
    ctx.current_snapshot = (
        StateSnapshotNID(info.current_snapshot_nid) if info.current_snapshot_nid else None
    )
    state = current_state_txn(conn, ctx.room_nid)  # type: ignore[arg-type]
    types = type_names_txn(conn, {t for t, _ in state})
    keys = state_keys_txn(conn, {k for _, k in state})
    ids = event_ids_txn(conn, state.values())
    ctx.current_state = {(types[t], keys[k]): ids[e] for (t, k), e in state.items()}
    extremity_nids = forward_extremities_txn(conn, ctx.room_nid)  # type: ignore[arg-type]
    stored = get_events_txn(conn, extremity_nids)
    ctx.extremities = {ev.event_id: ev.depth for ev in stored.values()}
    return ctx
