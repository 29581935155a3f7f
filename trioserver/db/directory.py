"""SQL for ``room_aliases`` and ``room_directory_visibility`` (client-server
API, "Room aliases" and "Listing rooms").

Aliases are stored exactly as the client sent them (already validated by the
caller); a room without a visibility row is ``private``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Literal

Visibility = Literal["public", "private"]


class AliasExists(Exception):
    """The alias is already mapped to a room."""


def create_alias_txn(
    conn: sqlite3.Connection, alias: str, room_id: str, creator: str, now_ms: int
) -> None:
    """Map ``alias`` to ``room_id``; raises :class:`AliasExists` if it is taken."""
    try:
        conn.execute(
            "INSERT INTO room_aliases (room_alias, room_id, creator, created_ts)"
            " VALUES (?, ?, ?, ?)",
            (alias, room_id, creator, now_ms),
        )
    except sqlite3.IntegrityError as exc:
        raise AliasExists(alias) from exc


def get_alias_txn(conn: sqlite3.Connection, alias: str) -> str | None:
    """The room ID ``alias`` points to, or None."""
    row = conn.execute("SELECT room_id FROM room_aliases WHERE room_alias = ?", (alias,)).fetchone()
    return None if row is None else str(row[0])


def alias_creator_txn(conn: sqlite3.Connection, alias: str) -> str | None:
    """The user who created ``alias``, or None if it does not exist."""
    row = conn.execute("SELECT creator FROM room_aliases WHERE room_alias = ?", (alias,)).fetchone()
    return None if row is None else str(row[0])


def delete_alias_txn(conn: sqlite3.Connection, alias: str) -> bool:
    """Remove ``alias``; False if it did not exist."""
    cursor = conn.execute("DELETE FROM room_aliases WHERE room_alias = ?", (alias,))
    return cursor.rowcount > 0


def aliases_for_room_txn(conn: sqlite3.Connection, room_id: str) -> list[str]:
    """Every local alias of ``room_id``, oldest first."""
    rows = conn.execute(
        "SELECT room_alias FROM room_aliases WHERE room_id = ? ORDER BY created_ts, room_alias",
        (room_id,),
    )
    return [str(alias) for (alias,) in rows]


def set_room_visibility_txn(conn: sqlite3.Connection, room_id: str, visibility: Visibility) -> None:
    """Publish (``public``) or unpublish (``private``) ``room_id``."""
    if visibility not in ("public", "private"):
        raise ValueError(f"bad visibility {visibility!r}")
    if visibility == "private":
        conn.execute("DELETE FROM room_directory_visibility WHERE room_id = ?", (room_id,))
        return
    conn.execute(
        "INSERT INTO room_directory_visibility (room_id, visibility) VALUES (?, ?)"
        " ON CONFLICT (room_id) DO UPDATE SET visibility = excluded.visibility",
        (room_id, visibility),
    )


def room_visibility_txn(conn: sqlite3.Connection, room_id: str) -> Visibility:
    """``public`` if ``room_id`` is published in the directory, else ``private``."""
    row = conn.execute(
        "SELECT visibility FROM room_directory_visibility WHERE room_id = ?", (room_id,)
    ).fetchone()
    return "public" if row is not None and row[0] == "public" else "private"


def public_room_ids_txn(conn: sqlite3.Connection) -> list[str]:
    """Every room published in the directory, ordered by room ID."""
    rows = conn.execute(
        "SELECT room_id FROM room_directory_visibility WHERE visibility = 'public' ORDER BY room_id"
    )
    return [str(room_id) for (room_id,) in rows]


# -- derived from the output stream (see trioserver/directory/indexer.py) ----


def stream_position_txn(conn: sqlite3.Connection, name: str) -> int:
    """The last output-stream position the follower ``name`` applied (0: none)."""
    row = conn.execute(
        "SELECT position FROM directory_stream_positions WHERE name = ?", (name,)
    ).fetchone()
    return 0 if row is None else int(row[0])


def set_stream_position_txn(conn: sqlite3.Connection, name: str, position: int) -> None:
    conn.execute(
        "INSERT INTO directory_stream_positions (name, position) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        (name, position),
    )


#: Columns of ``room_summaries`` set from current state (the rest are derived).
SUMMARY_FIELDS = (
    "name",
    "topic",
    "canonical_alias",
    "avatar_url",
    "join_rule",
    "history_visibility",
    "guest_access",
    "room_type",
    "encryption",
)


@dataclass(frozen=True, slots=True)
class RoomSummary:
    room_id: str
    name: str | None
    topic: str | None
    canonical_alias: str | None
    avatar_url: str | None
    join_rule: str | None
    history_visibility: str | None
    guest_access: str | None
    room_type: str | None
    encryption: str | None
    room_version: str
    joined_members: int

    @property
    def world_readable(self) -> bool:
        return self.history_visibility == "world_readable"

    @property
    def guest_can_join(self) -> bool:
        return self.guest_access == "can_join"


_SUMMARY_COLUMNS = "room_id, " + ", ".join(SUMMARY_FIELDS) + ", room_version, joined_members"


def ensure_summary_txn(conn: sqlite3.Connection, room_id: str, room_version: str) -> None:
    conn.execute(
        "INSERT INTO room_summaries (room_id, room_version) VALUES (?, ?)"
        " ON CONFLICT (room_id) DO NOTHING",
        (room_id, room_version),
    )


def set_summary_field_txn(
    conn: sqlite3.Connection, room_id: str, field: str, value: str | None
) -> None:
    if field not in SUMMARY_FIELDS:
        raise ValueError(f"not a summary field: {field!r}")
    conn.execute(f"UPDATE room_summaries SET {field} = ? WHERE room_id = ?", (value, room_id))


def recount_joined_txn(conn: sqlite3.Connection, room_id: str) -> None:
    conn.execute(
        "UPDATE room_summaries SET joined_members ="
        " (SELECT COUNT(*) FROM user_directory_rooms WHERE room_id = ?) WHERE room_id = ?",
        (room_id, room_id),
    )


def _summary(row: tuple[object, ...]) -> RoomSummary:
    fields = {
        f: None if v is None else str(v) for f, v in zip(SUMMARY_FIELDS, row[1:10], strict=True)
    }
    return RoomSummary(
        room_id=str(row[0]), room_version=str(row[10]), joined_members=int(str(row[11])), **fields
    )


def room_summaries_txn(conn: sqlite3.Connection, room_ids: list[str]) -> dict[str, RoomSummary]:
    """The summaries of the rooms among ``room_ids`` that the indexer has seen."""
    rows = conn.execute(
        f"SELECT {_SUMMARY_COLUMNS} FROM room_summaries"
        " WHERE room_id IN (SELECT value FROM json_each(?))",
        (json.dumps(room_ids),),
    )
    return {str(row[0]): _summary(row) for row in rows}


def public_room_summaries_txn(conn: sqlite3.Connection) -> list[RoomSummary]:
    """Summaries of every room published in the directory, most joined
    members first, then by room ID (the order of ``/publicRooms``)."""
    rows = conn.execute(
        f"SELECT {', '.join('s.' + c.strip() for c in _SUMMARY_COLUMNS.split(','))}"
        " FROM room_directory_visibility AS v JOIN room_summaries AS s USING (room_id)"
        " WHERE v.visibility = 'public'"
        " ORDER BY s.joined_members DESC, s.room_id"
    )
    return [_summary(row) for row in rows]


def set_space_child_txn(
    conn: sqlite3.Connection, room_id: str, child_room_id: str, event_id: str | None
) -> None:
    """Record (``event_id`` given) or forget the room's ``m.space.child`` entry."""
    if event_id is None:
        conn.execute(
            "DELETE FROM space_children WHERE room_id = ? AND child_room_id = ?",
            (room_id, child_room_id),
        )
        return
    conn.execute(
        "INSERT INTO space_children (room_id, child_room_id, event_id) VALUES (?, ?, ?)"
        " ON CONFLICT (room_id, child_room_id) DO UPDATE SET event_id = excluded.event_id",
        (room_id, child_room_id, event_id),
    )


def space_children_txn(conn: sqlite3.Connection, room_id: str) -> dict[str, str]:
    """``child room ID -> m.space.child event ID`` of the room's current state."""
    rows = conn.execute(
        "SELECT child_room_id, event_id FROM space_children WHERE room_id = ?", (room_id,)
    )
    return {str(child): str(event_id) for child, event_id in rows}
