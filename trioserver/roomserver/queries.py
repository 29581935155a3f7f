"""Questions about rooms, answered in string IDs from committed storage."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from trioserver.db import Database
from trioserver.db import roomserver_current as current_sql
from trioserver.db.nids import EventNID, StateSnapshotNID
from trioserver.db.roomserver_events import (
    auth_chain_ids_txn,
    forward_extremities_txn,
    get_events_by_id_txn,
)
from trioserver.db.roomserver_nids import (
    event_ids_txn,
    lookup_state_key_nids_txn,
    lookup_type_nids_txn,
    room_info_by_nid_txn,
    room_info_txn,
    state_keys_txn,
    type_names_txn,
)
from trioserver.db.roomserver_pdus import load_pdus_txn
from trioserver.db.roomserver_state import load_state_keys_txn, load_state_txn
from trioserver.roomserver.context import PDU, EventCache, StateKey


@dataclass(frozen=True, slots=True)
class EventInfo:
    """What storage says of an event beyond its PDU."""

    event_id: str
    room_id: str
    position: int | None  #: stream position; None for outliers, rejected, soft-failed
    depth: int
    is_outlier: bool
    rejected: bool
    soft_failed: bool
    redacted_by: str | None


def _state_strings_txn(
    conn: sqlite3.Connection, snapshot: StateSnapshotNID | None, keys: Collection[StateKey] | None
) -> dict[StateKey, str] | None:
    if snapshot is None:
        return None
    if keys is None:
        state = load_state_txn(conn, snapshot)
    else:
        # Only the asked keys: primary-key lookups, whatever the size of the state.
        type_nids = lookup_type_nids_txn(conn, {t for t, _ in keys})
        key_nids = lookup_state_key_nids_txn(conn, {k for _, k in keys})
        wanted = [(type_nids[t], key_nids[k]) for t, k in keys if t in type_nids and k in key_nids]
        state = load_state_keys_txn(conn, snapshot, wanted) if wanted else {}
    types = type_names_txn(conn, {t for t, _ in state})
    state_keys = state_keys_txn(conn, {k for _, k in state})
    ids = event_ids_txn(conn, state.values())
    return {(types[t], state_keys[k]): ids[e] for (t, k), e in state.items()}


def _current_state_txn(
    conn: sqlite3.Connection, room_id: str, keys: Collection[StateKey] | None
) -> dict[StateKey, str] | None:
    info = room_info_txn(conn, room_id)
    if info is None or info.current_snapshot_nid is None:
        return None
    return _state_strings_txn(conn, StateSnapshotNID(info.current_snapshot_nid), keys)


def _state_at_txn(
    conn: sqlite3.Connection, event_id: str, after: bool, keys: Collection[StateKey] | None
) -> dict[StateKey, str] | None:
    stored = get_events_by_id_txn(conn, [event_id]).get(event_id)
    if stored is None:
        return None
    return _state_strings_txn(conn, stored.state_after if after else stored.state_before, keys)


def _event_info_txn(conn: sqlite3.Connection, event_ids: list[str]) -> dict[str, EventInfo]:
    stored = get_events_by_id_txn(conn, event_ids)
    redacters = event_ids_txn(
        conn, [EventNID(s.redacted_by) for s in stored.values() if s.redacted_by is not None]
    )
    rooms: dict[int, str] = {}
    for room_nid in {s.room_nid for s in stored.values()}:
        info = room_info_by_nid_txn(conn, room_nid)
        if info is not None:
            rooms[room_nid] = info.room_id
    return {
        event_id: EventInfo(
            event_id=event_id,
            room_id=rooms[s.room_nid],
            position=s.stream_ordering,
            depth=s.depth,
            is_outlier=s.is_outlier,
            rejected=s.rejected_reason is not None,
            soft_failed=s.is_soft_failed,
            redacted_by=redacters.get(s.redacted_by) if s.redacted_by is not None else None,
        )
        for event_id, s in stored.items()
    }


def _extremities_txn(conn: sqlite3.Connection, room_id: str) -> list[str]:
    info = room_info_txn(conn, room_id)
    if info is None:
        return []
    return sorted(event_ids_txn(conn, forward_extremities_txn(conn, info.room_nid)).values())


def _room_version_txn(conn: sqlite3.Connection, room_id: str) -> str | None:
    info = room_info_txn(conn, room_id)
    return info.room_version if info is not None else None


class RoomQueries:
    """Read-only questions about rooms (string IDs in and out)."""

    def __init__(self, db: Database, events: EventCache) -> None:
        self._db = db
        self._events = events

    async def events(self, event_ids: Iterable[str]) -> dict[str, PDU]:
        wanted = list(dict.fromkeys(event_ids))
        found = {e: p for e in wanted if (p := self._events.get(e)) is not None}
        missing = [e for e in wanted if e not in found]
        if missing:
            loaded = await self._db.run_read(load_pdus_txn, missing)
            for event_id, pdu in loaded.items():
                self._events.put(event_id, pdu)
            found.update(loaded)
        return found

    async def event_info(self, event_ids: Iterable[str]) -> dict[str, EventInfo]:
        return await self._db.run_read(_event_info_txn, list(event_ids))

    async def current_state(
        self, room_id: str, keys: Collection[StateKey] | None = None
    ) -> dict[StateKey, str] | None:
        """The room's current state (None: unknown room)."""
        return await self._db.run_read(_current_state_txn, room_id, keys)

    async def current_state_events(
        self, room_id: str, keys: Collection[StateKey] | None = None
    ) -> dict[StateKey, PDU] | None:
        state = await self.current_state(room_id, keys)
        if state is None:
            return None
        pdus = await self.events(state.values())
        return {key: pdus[event_id] for key, event_id in state.items() if event_id in pdus}

    async def state_at_event(
        self, event_id: str, *, after: bool = False, keys: Collection[StateKey] | None = None
    ) -> dict[StateKey, str] | None:
        """The state before (or after) a stored non-outlier event."""
        return await self._db.run_read(_state_at_txn, event_id, after, keys)

    async def joined_members(self, room_id: str) -> list[str]:
        return await self._db.run_read(current_sql.members_txn, room_id)

    async def members(self, room_id: str, membership: str) -> list[str]:
        return await self._db.run_read(current_sql.members_txn, room_id, membership)

    async def membership(self, room_id: str, user_id: str) -> str | None:
        return self._db.read_now(current_sql.membership_txn, room_id, user_id)

    async def rooms_for_user(
        self, user_id: str, memberships: Iterable[str] | None = None
    ) -> dict[str, str]:
        return await self._db.run_read(current_sql.rooms_for_user_txn, user_id, memberships)

    async def servers_in_room(self, room_id: str) -> set[str]:
        return await self._db.run_read(current_sql.servers_in_room_txn, room_id)

    async def forward_extremities(self, room_id: str) -> list[str]:
        return await self._db.run_read(_extremities_txn, room_id)

    async def auth_chain(self, event_ids: Iterable[str]) -> list[str]:
        return await self._db.run_read(auth_chain_ids_txn, list(event_ids))

    async def room_version(self, room_id: str) -> str | None:
        return self._db.read_now(_room_version_txn, room_id)
