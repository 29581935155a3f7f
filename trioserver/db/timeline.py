"""Room events in stream order, for the history endpoints (``/messages``,
``/context``, ``/timestamp_to_event``).

Positions: the stream position ``p`` of a token is the point just after the
event at ``p``; a page is the room's client-visible events with positions in
a half-open range ``(low, high]``, newest or oldest first. Outliers,
rejected and soft-failed events have no position and never appear.

Note: ordering is by live stream position only. Events backfilled from
federation are stored without a live position (see
:class:`trioserver.db.roomserver_events.NewEvent`), so they do not appear here
yet; paginating into backfilled history will need a second, topological
ordering for them (negative positions or a separate backfill stream).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from trioserver.db.visibility import visibility_facts_txn

#: Larger than any stream position (for an open upper bound).
MAX_POSITION = 2**62


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    position: int
    event_id: str
    pdu: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TimelinePage:
    events: list[TimelineEvent]
    #: event_id -> (history_visibility, membership of the user) before each event
    facts: dict[str, tuple[str, str | None, bool]]


def room_events_between_txn(
    conn: sqlite3.Connection,
    room_id: str,
    low: int,
    high: int,
    *,
    backwards: bool,
    limit: int,
) -> list[TimelineEvent]:
    """The room's events with ``low < position <= high``, newest first when
    ``backwards``, at most ``limit``."""
    order = "DESC" if backwards else "ASC"
    rows = conn.execute(
        "SELECT e.stream_ordering, i.event_id, e.json FROM events AS e"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " WHERE e.room_nid = (SELECT room_nid FROM rooms WHERE room_id = ?)"
        " AND e.stream_ordering > ? AND e.stream_ordering <= ?"
        f" ORDER BY e.stream_ordering {order} LIMIT ?",
        (room_id, low, high, limit),
    )
    return [TimelineEvent(pos, event_id, json.loads(text)) for pos, event_id, text in rows]


def timeline_page_txn(
    conn: sqlite3.Connection,
    user_id: str,
    room_id: str,
    low: int,
    high: int,
    *,
    backwards: bool,
    limit: int,
) -> TimelinePage:
    """:func:`room_events_between_txn` with the history-visibility facts of
    each event for ``user_id``, read in the same transaction."""
    events = room_events_between_txn(conn, room_id, low, high, backwards=backwards, limit=limit)
    facts = visibility_facts_txn(conn, user_id, [e.event_id for e in events]) if events else {}
    return TimelinePage(events, facts)


def event_position_txn(conn: sqlite3.Connection, room_id: str, event_id: str) -> int | None:
    """The stream position of a client-visible event of the room (None: not
    stored, of another room, or without a position)."""
    row = conn.execute(
        "SELECT e.stream_ordering FROM event_ids AS i"
        " JOIN events AS e ON e.event_nid = i.event_nid"
        " JOIN rooms AS r ON r.room_nid = e.room_nid"
        " WHERE i.event_id = ? AND r.room_id = ?",
        (event_id, room_id),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def events_near_ts_txn(
    conn: sqlite3.Connection, room_id: str, ts: int, *, forwards: bool, limit: int
) -> list[tuple[str, int]]:
    """Up to ``limit`` ``(event_id, origin_server_ts)`` of the room's
    client-visible events closest to ``ts``: at or after it (``forwards``),
    else at or before it; closest first (ties: stream order away from ``ts``)."""
    if forwards:
        where, order = "e.origin_server_ts >= ?", "e.origin_server_ts ASC, e.stream_ordering ASC"
    else:
        where, order = "e.origin_server_ts <= ?", "e.origin_server_ts DESC, e.stream_ordering DESC"
    rows = conn.execute(
        "SELECT i.event_id, e.origin_server_ts FROM events AS e"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " WHERE e.room_nid = (SELECT room_nid FROM rooms WHERE room_id = ?)"
        f" AND e.stream_ordering IS NOT NULL AND {where}"
        f" ORDER BY {order} LIMIT ?",
        (room_id, ts, limit),
    )
    return [(str(event_id), int(origin_ts)) for event_id, origin_ts in rows]


def latest_room_position_txn(conn: sqlite3.Connection, room_id: str) -> int | None:
    """The position of the room's newest client-visible event (None: unknown room)."""
    row = conn.execute(
        "SELECT last_stream_ordering FROM rooms WHERE room_id = ?", (room_id,)
    ).fetchone()
    return None if row is None else int(row[0])
