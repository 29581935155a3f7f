"""SQL of ``event_relations`` (child events and their parents) and the
relations indexer's stream position.

A relation holds while its child is not redacted (spec: "when a child event
is redacted then the relationship is broken"): every read leaves out children
whose ``events.redacted_by`` is set, also as intermediate links of a
recursive walk. Parent and child are always of the same room (rows are
looked up by ``room_id``: a child naming a parent in another room relates to
nothing).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trioserver.db.roomserver_nids import json_array


@dataclass(frozen=True, slots=True)
class RelationRow:
    event_id: str
    room_id: str
    relates_to_id: str
    rel_type: str
    aggregation_key: str | None
    event_type: str
    sender: str
    position: int
    origin_server_ts: int
    is_state: bool
    has_new_content: bool


_COLUMNS = (
    "r.event_id, r.room_id, r.relates_to_id, r.rel_type, r.aggregation_key, r.event_type,"
    " r.sender, r.position, r.origin_server_ts, r.is_state, r.has_new_content"
)

#: The child ``r`` is not redacted.
_NOT_REDACTED = (
    "NOT EXISTS (SELECT 1 FROM event_ids AS ri JOIN events AS re ON re.event_nid = ri.event_nid"
    " WHERE ri.event_id = r.event_id AND re.redacted_by IS NOT NULL)"
)


def _row(values: Sequence[object]) -> RelationRow:
    return RelationRow(
        event_id=str(values[0]),
        room_id=str(values[1]),
        relates_to_id=str(values[2]),
        rel_type=str(values[3]),
        aggregation_key=None if values[4] is None else str(values[4]),
        event_type=str(values[5]),
        sender=str(values[6]),
        position=int(str(values[7])),
        origin_server_ts=int(str(values[8])),
        is_state=bool(values[9]),
        has_new_content=bool(values[10]),
    )


# -- writing (the indexer) ---------------------------------------------------


def stream_position_txn(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute(
        "SELECT position FROM relations_stream_position WHERE name = ?", (name,)
    ).fetchone()
    return 0 if row is None else int(row[0])


def add_relations_txn(
    conn: sqlite3.Connection, rows: Iterable[RelationRow], name: str, position: int
) -> None:
    """Record ``rows`` (a row already there is kept) and that the indexer
    ``name`` has applied the stream up to ``position``, in one transaction."""
    conn.executemany(
        "INSERT OR IGNORE INTO event_relations (event_id, room_id, relates_to_id, rel_type,"
        " aggregation_key, event_type, sender, position, origin_server_ts, is_state,"
        " has_new_content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                r.event_id,
                r.room_id,
                r.relates_to_id,
                r.rel_type,
                r.aggregation_key,
                r.event_type,
                r.sender,
                r.position,
                r.origin_server_ts,
                int(r.is_state),
                int(r.has_new_content),
            )
            for r in rows
        ],
    )
    conn.execute(
        "INSERT INTO relations_stream_position (name, position) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        (name, position),
    )


# -- reading -----------------------------------------------------------------


def relation_of_txn(conn: sqlite3.Connection, event_id: str) -> RelationRow | None:
    """The relation an event is the child of (None: it relates to nothing)."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM event_relations AS r WHERE r.event_id = ?", (event_id,)
    ).fetchone()
    return None if row is None else _row(row)


def children_txn(
    conn: sqlite3.Connection,
    room_id: str,
    parent_id: str,
    *,
    rel_type: str | None,
    event_type: str | None,
    low: int,
    high: int,
    backwards: bool,
    limit: int,
    max_depth: int = 1,
) -> list[tuple[int, str]]:
    """``(position, event_id)`` of the children of ``parent_id`` with
    ``low < position <= high``, newest first when ``backwards``, at most
    ``limit``. ``max_depth`` > 1 includes children of children (and so on) up
    to that depth; ``rel_type`` / ``event_type`` apply at every level (an
    event reached only through a non-matching one is left out)."""
    conditions = ["r.room_id = :room", _NOT_REDACTED]
    if rel_type is not None:
        conditions.append("r.rel_type = :rel_type")
    if event_type is not None:
        conditions.append("r.event_type = :event_type")
    where = " AND ".join(conditions)
    order = "DESC" if backwards else "ASC"
    rows = conn.execute(
        "WITH RECURSIVE tree (event_id, depth) AS ("
        " SELECT r.event_id, 1 FROM event_relations AS r"
        f" WHERE r.relates_to_id = :parent AND {where}"
        " UNION"
        " SELECT r.event_id, t.depth + 1 FROM event_relations AS r"
        f" JOIN tree AS t ON r.relates_to_id = t.event_id WHERE t.depth < :max_depth AND {where}"
        ") SELECT DISTINCT r.position, r.event_id FROM tree"
        " JOIN event_relations AS r ON r.event_id = tree.event_id"
        " WHERE r.position > :low AND r.position <= :high"
        f" ORDER BY r.position {order} LIMIT :limit",
        {
            "room": room_id,
            "parent": parent_id,
            "rel_type": rel_type,
            "event_type": event_type,
            "max_depth": max_depth,
            "low": low,
            "high": high,
            "limit": limit,
        },
    )
    return [(int(position), str(event_id)) for position, event_id in rows]


def relations_for_parents_txn(
    conn: sqlite3.Connection,
    room_id: str,
    parent_ids: Sequence[str],
    rel_types: Sequence[str],
    *,
    ignored_senders: Sequence[str] = (),
) -> list[RelationRow]:
    """The unredacted children of ``rel_types`` of each of ``parent_ids``
    (oldest first), leaving out those sent by ``ignored_senders``."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM event_relations AS r"
        " WHERE r.relates_to_id IN (SELECT value FROM json_each(:parents))"
        " AND r.room_id = :room AND r.rel_type IN (SELECT value FROM json_each(:types))"
        " AND r.sender NOT IN (SELECT value FROM json_each(:ignored))"
        f" AND {_NOT_REDACTED} ORDER BY r.position",
        {
            "parents": json_array(parent_ids),
            "room": room_id,
            "types": json_array(rel_types),
            "ignored": json_array(ignored_senders),
        },
    )
    return [_row(row) for row in rows]


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    root_id: str
    count: int
    latest_event_id: str
    latest_position: int
    user_participated: bool  #: as a child sender (the root's sender is checked by callers)


def thread_summaries_txn(
    conn: sqlite3.Connection,
    room_id: str,
    root_ids: Sequence[str],
    user_id: str,
    *,
    ignored_senders: Sequence[str] = (),
) -> dict[str, ThreadSummary]:
    """Per thread root among ``root_ids``: the number of unredacted
    ``m.thread`` children not sent by ``ignored_senders``, the newest of them
    and whether ``user_id`` sent one."""
    rows = conn.execute(
        "SELECT r.relates_to_id, count(*), max(r.position), max(r.sender = :user)"
        " FROM event_relations AS r"
        " WHERE r.relates_to_id IN (SELECT value FROM json_each(:roots))"
        " AND r.room_id = :room AND r.rel_type = 'm.thread'"
        " AND r.sender NOT IN (SELECT value FROM json_each(:ignored))"
        f" AND {_NOT_REDACTED} GROUP BY r.relates_to_id",
        {
            "roots": json_array(root_ids),
            "room": room_id,
            "user": user_id,
            "ignored": json_array(ignored_senders),
        },
    ).fetchall()
    # Each thread's newest child, found by (root, position) in the parent index.
    latest_ids = dict(
        conn.execute(
            "SELECT r.position, r.event_id FROM json_each(?) AS j"
            " JOIN event_relations AS r ON r.relates_to_id = json_extract(j.value, '$[0]')"
            " AND r.position = json_extract(j.value, '$[1]')",
            (json.dumps([[str(row[0]), int(row[2])] for row in rows]),),
        ).fetchall()
        if rows
        else ()
    )
    return {
        str(root): ThreadSummary(
            root_id=str(root),
            count=int(count),
            latest_event_id=str(latest_ids[latest]),
            latest_position=int(latest),
            user_participated=bool(participated),
        )
        for root, count, latest, participated in rows
        if latest in latest_ids
    }


def thread_roots_txn(
    conn: sqlite3.Connection,
    room_id: str,
    *,
    high: int,
    limit: int,
    participant: str | None = None,
) -> list[tuple[str, int]]:
    """``(root_id, latest_position)`` of the room's threads whose newest
    unredacted ``m.thread`` child has a position ``<= high``, most recently
    active first, at most ``limit``. With ``participant``: only threads
    whose root or a child that user sent."""
    participated = ""
    if participant is not None:
        participated = (
            " HAVING max(r.sender = :user) = 1 OR EXISTS (SELECT 1 FROM event_ids AS pi"
            " JOIN events AS pe ON pe.event_nid = pi.event_nid"
            " WHERE pi.event_id = r.relates_to_id AND pe.sender = :user)"
        )
    rows = conn.execute(
        "SELECT * FROM (SELECT r.relates_to_id, max(r.position) AS latest"
        " FROM event_relations AS r WHERE r.room_id = :room AND r.rel_type = 'm.thread'"
        f" AND {_NOT_REDACTED} GROUP BY r.relates_to_id{participated})"
        " WHERE latest <= :high ORDER BY latest DESC LIMIT :limit",
        {"room": room_id, "user": participant, "high": high, "limit": limit},
    )
    return [(str(root), int(latest)) for root, latest in rows]


def annotation_exists_txn(
    conn: sqlite3.Connection, parent_id: str, sender: str, event_type: str, key: str
) -> bool:
    """Whether ``sender`` already annotated ``parent_id`` with ``key`` in an
    event of ``event_type`` that is not redacted (spec: "Avoiding duplicate
    annotations")."""
    row = conn.execute(
        "SELECT 1 FROM event_relations AS r WHERE r.relates_to_id = ?"
        " AND r.rel_type = 'm.annotation' AND r.sender = ? AND r.event_type = ?"
        f" AND r.aggregation_key = ? AND {_NOT_REDACTED} LIMIT 1",
        (parent_id, sender, event_type, key),
    ).fetchone()
    return row is not None
