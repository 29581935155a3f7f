"""SQL for full-text search of room events (client-server API, modules/search.md):
``event_search_events`` (one row per indexed event, keyed by its stream
position) and the FTS5 table ``event_search`` sharing its rowid.

The directory indexer adds a row for each ``m.room.message`` (``content.body``),
``m.room.name`` (``content.name``) and ``m.room.topic`` (``content.topic``)
and removes it when the event is redacted.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

#: The event type indexed under each search key.
KEY_TYPES = {
    "content.body": "m.room.message",
    "content.name": "m.room.name",
    "content.topic": "m.room.topic",
}


@dataclass(frozen=True, slots=True)
class SearchHit:
    position: int
    event_id: str
    room_id: str
    sender: str
    type: str
    rank: float


def index_event_txn(
    conn: sqlite3.Connection,
    *,
    position: int,
    event_id: str,
    room_id: str,
    sender: str,
    event_type: str,
    key: str,
    value: str,
    origin_server_ts: int,
) -> None:
    """Index one event (idempotent: an event already indexed is left alone)."""
    cursor = conn.execute(
        "INSERT INTO event_search_events"
        " (position, event_id, room_id, sender, type, key, origin_server_ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (position, event_id, room_id, sender, event_type, key, origin_server_ts),
    )
    if cursor.rowcount > 0:
        conn.execute("INSERT INTO event_search (rowid, value) VALUES (?, ?)", (position, value))


def unindex_event_txn(conn: sqlite3.Connection, event_id: str) -> bool:
    """Remove ``event_id`` from the index (redacted); False if it was not there."""
    row = conn.execute(
        "DELETE FROM event_search_events WHERE event_id = ? RETURNING position", (event_id,)
    ).fetchone()
    if row is None:
        return False
    conn.execute("DELETE FROM event_search WHERE rowid = ?", (row[0],))
    return True


def applied_redaction_target_txn(
    conn: sqlite3.Connection, redaction_id: str, target_id: str
) -> bool:
    """Whether the roomserver applied ``redaction_id`` to ``target_id`` (for
    catching up from storage, where the output does not say)."""
    row = conn.execute(
        "SELECT 1 FROM event_ids AS t JOIN events AS e ON e.event_nid = t.event_nid"
        " JOIN event_ids AS r ON r.event_nid = e.redacted_by"
        " WHERE t.event_id = ? AND r.event_id = ?",
        (target_id, redaction_id),
    ).fetchone()
    return row is not None


def _filters(
    room_ids: list[str],
    keys: list[str],
    senders: list[str] | None,
    not_senders: list[str],
) -> tuple[str, list[object]]:
    sql = (
        " AND e.room_id IN (SELECT value FROM json_each(?))"
        " AND e.key IN (SELECT value FROM json_each(?))"
    )
    params: list[object] = [json.dumps(room_ids), json.dumps(keys)]
    if senders is not None:
        sql += " AND e.sender IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(senders))
    if not_senders:
        sql += " AND e.sender NOT IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(not_senders))
    return sql, params


def search_txn(
    conn: sqlite3.Connection,
    match: str,
    *,
    room_ids: list[str],
    keys: list[str],
    senders: list[str] | None = None,
    not_senders: list[str] = [],  # noqa: B006 - never mutated
    order_by_rank: bool,
    max_position: int,
    before_position: int | None = None,
    offset: int = 0,
    limit: int,
) -> list[SearchHit]:
    """Indexed events matching the FTS5 query ``match`` in ``room_ids`` under
    ``keys``, at positions up to ``max_position``.

    By rank: best first, then newest; page with ``offset``. By recency:
    newest first; page with ``before_position`` (exclusive)."""
    filters, params = _filters(room_ids, keys, senders, not_senders)
    sql = (
        "SELECT e.position, e.event_id, e.room_id, e.sender, e.type, bm25(event_search)"
        " FROM event_search JOIN event_search_events AS e ON e.position = event_search.rowid"
        " WHERE event_search MATCH ? AND e.position <= ?" + filters
    )
    all_params: list[object] = [match, max_position, *params]
    if order_by_rank:
        sql += " ORDER BY bm25(event_search), e.position DESC LIMIT ? OFFSET ?"
        all_params += [limit, offset]
    else:
        if before_position is not None:
            sql += " AND e.position < ?"
            all_params.append(before_position)
        sql += " ORDER BY e.position DESC LIMIT ?"
        all_params.append(limit)
    return [
        SearchHit(int(p), str(eid), str(room), str(sender), str(t), float(rank))
        for p, eid, room, sender, t, rank in conn.execute(sql, all_params)
    ]


def count_txn(
    conn: sqlite3.Connection,
    match: str,
    *,
    room_ids: list[str],
    keys: list[str],
    senders: list[str] | None = None,
    not_senders: list[str] = [],  # noqa: B006 - never mutated
    max_position: int,
) -> int:
    """How many indexed events match (before visibility filtering: approximate)."""
    filters, params = _filters(room_ids, keys, senders, not_senders)
    row = conn.execute(
        "SELECT COUNT(*) FROM event_search"
        " JOIN event_search_events AS e ON e.position = event_search.rowid"
        " WHERE event_search MATCH ? AND e.position <= ?" + filters,
        [match, max_position, *params],
    ).fetchone()
    return int(row[0])


def room_event_ids_around_txn(
    conn: sqlite3.Connection, room_id: str, position: int, *, before: bool, limit: int
) -> list[tuple[str, int]]:
    """``(event ID, position)`` of the room's client-visible events just before
    (newest first) or just after (oldest first) stream position ``position``."""
    op, order = ("<", "DESC") if before else (">", "ASC")
    rows = conn.execute(
        "SELECT i.event_id, e.stream_ordering FROM events AS e"
        " JOIN event_ids AS i ON i.event_nid = e.event_nid"
        " WHERE e.room_nid = (SELECT room_nid FROM rooms WHERE room_id = ?)"
        f" AND e.stream_ordering IS NOT NULL AND e.stream_ordering {op} ?"
        f" ORDER BY e.stream_ordering {order} LIMIT ?",
        (room_id, position, limit),
    )
    return [(str(event_id), int(pos)) for event_id, pos in rows]
