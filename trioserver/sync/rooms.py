"""One room of a ``/sync`` response: timeline, state, summary (spec:
client-server API, "Syncing", "Room summary", "Lazy-loading room members";
``sync.yaml``). Everything of one room is read in one read transaction
(:func:`room_txn`), so the events, the state deltas and current state agree.

Timeline: the newest ``limit`` events of ``(since, upto]`` the user may see
(history visibility), that the timeline filter accepts and that are not
sent by an ignored user (state events always pass the ignore rule).
``limited`` is true exactly when a matching event of ``(since, upto]`` was
left out (and always for a room that is new to the client); ``prev_batch``
is the room token just before the first timeline event, from which
``/messages`` continues backwards without gap or repeat.

State (``state``, the state at the *start* of the timeline):

* full (initial sync, newly joined room, ``full_state``): the state just
  before the first timeline event, from current state rolled back over the
  later ``state_deltas``;
* incremental: the folded ``state_deltas`` of ``(since, first timeline
  event)``: cost grows with what changed, not with the room's history.

In both cases state changes inside the timeline's range whose event the
timeline does not carry (filtered out or hidden) are added, unless a
timeline event sets the same key, so the client's state stays right.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trioserver.db import sync_lazy as lazy_sql
from trioserver.db import sync_rooms as sql
from trioserver.db.room_txns import transaction_ids_txn
from trioserver.db.visibility import visibility_facts_txn
from trioserver.rooms.client_format import client_event, replaced_unsigned
from trioserver.rooms.ignored import is_hidden_by_ignore
from trioserver.rooms.tokens import room_token
from trioserver.rooms.visibility import filter_visible
from trioserver.sync.filters import SyncFilter, apply_event_fields

StateKey = tuple[str, str]

#: State keys of an invite's / knock's stripped state (spec: "Stripped state").
STRIPPED_STATE_TYPES = (
    "m.room.create",
    "m.room.join_rules",
    "m.room.name",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.encryption",
    "m.room.topic",
)
_HEROES = 5


@dataclass(frozen=True, slots=True)
class RoomQuery:
    """What to compute for one room."""

    room_id: str
    user_id: str
    device_id: str
    since: int  #: 0: initial sync of the room
    upto: int  #: the last position to include (the leave event for a left room)
    full_state: bool
    newly_joined: bool
    membership_now: str
    sync_filter: SyncFilter
    ignored: frozenset[str]
    now_ms: int
    #: for a left room: the user's own leave event, always in the timeline
    own_member_event: str | None = None
    #: ``use_state_after``: the state up to the end of the timeline
    state_after: bool = False


@dataclass(slots=True)
class RoomResult:
    timeline: list[dict[str, Any]] = field(default_factory=list)
    limited: bool = False
    prev_batch: str = ""
    state: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    #: (member, event_id) of member events sent (lazy-loading memory)
    sent_members: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.timeline and not self.state


def fold_changes(changes: Iterable[sql.StateChange]) -> dict[StateKey, str | None]:
    """``key -> final event ID`` over ``changes`` in order (None: removed)."""
    result: dict[StateKey, str | None] = {}
    for change in changes:
        for key, _ in change.removed:
            result[key] = None
        for key, event_id in change.added:
            result[key] = event_id
    return result


def _timeline_txn(
    conn: sqlite3.Connection, q: RoomQuery, limit: int
) -> tuple[list[sql.SyncEvent], bool]:
    """Up to ``limit`` matching events (oldest first) and whether more matched."""
    timeline_filter = q.sync_filter.room.timeline
    taken: list[sql.SyncEvent] = []
    cursor = q.upto
    page_size = min(max(2 * limit + 1, 20), 500)
    while cursor > q.since and len(taken) <= limit:
        page = sql.room_events_page_txn(conn, q.room_id, q.since, cursor, page_size)
        if not page:
            break
        facts = visibility_facts_txn(conn, q.user_id, [e.event_id for e in page])
        visible = set(
            filter_visible(q.user_id, [(e.event_id, e.pdu) for e in page], facts, q.membership_now)
        )
        for event in page:
            own = event.event_id == q.own_member_event
            if not own:
                if event.event_id not in visible or is_hidden_by_ignore(event.pdu, q.ignored):
                    continue
                if timeline_filter.filters_events and not timeline_filter.matches(
                    {**event.pdu, "room_id": q.room_id}
                ):
                    continue
            taken.append(event)
            if len(taken) > limit:
                break
        cursor = (page[-1].position or 0) - 1
        if len(page) < page_size:
            break
    limited = len(taken) > limit
    return list(reversed(taken[:limit])), limited


def _state_ids_txn(
    conn: sqlite3.Connection, q: RoomQuery, start: int, timeline: Sequence[sql.SyncEvent]
) -> dict[StateKey, str]:
    """The state event IDs to send: state just before position ``start``
    (full or as a delta since ``q.since``), plus changes in the timeline's
    range that the timeline does not carry."""
    if q.full_state or q.since == 0:
        state = sql.state_at_position_txn(conn, q.room_id, start - 1)
    else:
        folded = fold_changes(sql.state_changes_txn(conn, q.room_id, q.since, start - 1))
        state = {key: event_id for key, event_id in folded.items() if event_id is not None}
    timeline_ids = {e.event_id for e in timeline}
    timeline_keys = {
        (str(e.pdu.get("type")), e.pdu["state_key"])
        for e in timeline
        if isinstance(e.pdu.get("state_key"), str)
    }
    if start <= q.upto:
        later = fold_changes(sql.state_changes_txn(conn, q.room_id, start - 1, q.upto))
        for key, event_id in later.items():
            if event_id is not None and event_id not in timeline_ids and key not in timeline_keys:
                state[key] = event_id
    return state


def format_event(event: sql.SyncEvent, q: RoomQuery, txn_ids: Mapping[str, str]) -> dict[str, Any]:
    """An event as ``/sync`` serves it (``ClientEventWithoutRoomID`` by default)."""
    sync_filter = q.sync_filter
    if sync_filter.event_format == "federation":
        formatted: dict[str, Any] = dict(event.pdu)
        formatted.setdefault("event_id", event.event_id)
    else:
        because = None
        if event.redacted_by is not None:
            redaction_id, redaction = event.redacted_by
            because = client_event(redaction, redaction_id, event.room_version)
        ts = event.pdu.get("origin_server_ts")
        formatted = client_event(
            event.pdu,
            event.event_id,
            event.room_version,
            room_id_included=False,
            redacted_because=because,
            age_ms=max(0, q.now_ms - ts) if isinstance(ts, int) else None,
            transaction_id=txn_ids.get(event.event_id),
            unsigned_extra=(
                replaced_unsigned(*event.replaces, event.room_version) if event.replaces else None
            ),
        )
    return apply_event_fields(formatted, sync_filter.event_fields)


def summary_txn(conn: sqlite3.Connection, room_id: str, user_id: str) -> dict[str, Any]:
    """The room summary (``m.heroes``, ``m.joined_member_count``, ``m.invited_member_count``)."""
    members = sql.members_txn(conn, room_id)
    joined = sorted(u for u, m in members.items() if m == "join")
    invited = sorted(u for u, m in members.items() if m == "invite")
    heroes = [u for u in joined + invited if u != user_id][:_HEROES]
    if not heroes:
        heroes = sorted(u for u, m in members.items() if m in ("leave", "ban") and u != user_id)
        heroes = heroes[:_HEROES]
    return {
        "m.heroes": heroes,
        "m.joined_member_count": len(joined),
        "m.invited_member_count": len(invited),
    }


def _state_after_ids_txn(
    conn: sqlite3.Connection, q: RoomQuery, incremental: bool
) -> dict[StateKey, str]:
    """``state_after``: the state at the end of the timeline (position
    ``q.upto``), whole or as the changes since ``q.since``; the timeline's
    own state events included (clients update their state from this alone)."""
    if not incremental:
        return sql.state_at_position_txn(conn, q.room_id, q.upto)
    folded = fold_changes(sql.state_changes_txn(conn, q.room_id, q.since, q.upto))
    return {key: event_id for key, event_id in folded.items() if event_id is not None}


def _lazy_members(
    conn: sqlite3.Connection,
    q: RoomQuery,
    state: dict[StateKey, str],
    timeline: Sequence[sql.SyncEvent],
    delta_keys: Collection[StateKey],
) -> dict[StateKey, str]:
    """Lazy-loading: keep member events of timeline senders (and the
    user's own on a full state), plus member changes of the gap on an
    incremental sync; drop redundant ones already sent to the device."""
    senders = {str(e.pdu.get("sender")) for e in timeline}
    if q.full_state or q.since == 0 or q.newly_joined:
        senders.add(q.user_id)
    wanted = {("m.room.member", s) for s in senders}
    missing = [k for k in wanted if k not in state]
    if missing and timeline:
        if q.state_after:
            at_end = sql.state_at_position_txn(conn, q.room_id, q.upto)
            found = {k: at_end[k] for k in missing if k in at_end}
        else:
            found = sql.state_before_event_txn(conn, timeline[0].event_id, missing)
        state = {**state, **found}
    kept = {
        key: event_id
        for key, event_id in state.items()
        if key[0] != "m.room.member" or key in wanted or key in delta_keys
    }
    if q.sync_filter.room.state.include_redundant_members:
        return kept
    sent = lazy_sql.sent_members_txn(
        conn, q.user_id, q.device_id, q.room_id, [k[1] for k in kept if k[0] == "m.room.member"]
    )
    return {
        key: event_id
        for key, event_id in kept.items()
        if key[0] != "m.room.member" or key in delta_keys or sent.get(key[1]) != event_id
    }


def room_txn(conn: sqlite3.Connection, q: RoomQuery) -> RoomResult:
    """Timeline, state and summary of one room (see the module docstring)."""
    room_filter = q.sync_filter.room
    limit = room_filter.timeline_limit
    events, limited = _timeline_txn(conn, q, limit)
    result = RoomResult()
    result.limited = limited or q.newly_joined
    start = (events[0].position or q.upto + 1) if events else q.upto + 1
    result.prev_batch = room_token(start - 1)
    incremental = not (q.full_state or q.since == 0)
    if q.state_after:
        state_ids = _state_after_ids_txn(conn, q, incremental)
    else:
        state_ids = _state_ids_txn(conn, q, start, events)
    delta_keys = set(state_ids) if incremental else set()
    state_filter = room_filter.state
    if state_filter.lazy_load_members:
        state_ids = _lazy_members(conn, q, state_ids, events, delta_keys)
    state_events = sql.events_by_id_txn(conn, state_ids.values())
    txn_ids = transaction_ids_txn(conn, q.user_id, q.device_id, [e.event_id for e in events])
    for key in sorted(state_ids):
        event = state_events.get(state_ids[key])
        if event is None:
            continue
        if state_filter.filters_events and not state_filter.matches(
            {**event.pdu, "room_id": q.room_id}
        ):
            continue
        result.state.append(format_event(event, q, {}))
        if key[0] == "m.room.member":
            result.sent_members.append((key[1], event.event_id))
    result.timeline = [format_event(e, q, txn_ids) for e in events]
    for event in events:
        if event.pdu.get("type") == "m.room.member" and isinstance(event.pdu.get("state_key"), str):
            result.sent_members.append((event.pdu["state_key"], event.event_id))
    member_change = any(k[0] == "m.room.member" for k in state_ids) or any(
        e.pdu.get("type") == "m.room.member" for e in events
    )
    if q.membership_now == "join" and (not incremental or member_change):
        result.summary = summary_txn(conn, q.room_id, q.user_id)
    return result


def stripped_state_txn(
    conn: sqlite3.Connection, room_id: str, member_event_id: str
) -> list[dict[str, Any]]:
    """The stripped state of an invite or knock: the room's identifying
    state before the member event, the sender's member event, and the
    member event itself (spec: "Stripped state")."""
    member = sql.events_by_id_txn(conn, [member_event_id]).get(member_event_id)
    if member is None:
        return []
    sender = str(member.pdu.get("sender"))
    keys: list[StateKey] = [(t, "") for t in STRIPPED_STATE_TYPES]
    keys.append(("m.room.member", sender))
    found = sql.state_before_event_txn(conn, member_event_id, keys)
    events = sql.events_by_id_txn(conn, [*found.values(), member_event_id])
    ordered = [found[k] for k in keys if k in found and found[k] != member_event_id]
    ordered.append(member_event_id)
    stripped: list[dict[str, Any]] = []
    for event_id in ordered:
        event = events.get(event_id)
        if event is None:
            continue
        pdu = event.pdu
        stripped.append(
            {
                "type": pdu.get("type"),
                "state_key": pdu.get("state_key"),
                "content": pdu.get("content", {}),
                "sender": pdu.get("sender"),
            }
        )
    return stripped


def remember_sent_members_txn(
    conn: sqlite3.Connection,
    user_id: str,
    device_id: str,
    rows: Iterable[tuple[str, str, str]],
    initial: bool,
) -> None:
    """Record the member events sent to the device (lazy-loading)."""
    if initial:
        lazy_sql.forget_device_txn(conn, user_id, device_id)
    lazy_sql.remember_members_txn(conn, user_id, device_id, rows)
