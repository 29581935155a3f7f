"""SQL for the user directory (client-server API, "User directory"):
``user_directory_rooms`` (who is joined where now) and ``user_directory``
(display name and avatar from each user's latest join event), both kept by
the directory indexer from the roomserver's output stream.

A local user's global profile (``profile_fields``) takes precedence over
what their member events say, so a profile change shows at once.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    user_id: str
    display_name: str | None
    avatar_url: str | None


def set_joined_txn(conn: sqlite3.Connection, room_id: str, user_id: str, joined: bool) -> None:
    if joined:
        conn.execute(
            "INSERT INTO user_directory_rooms (room_id, user_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            (room_id, user_id),
        )
    else:
        conn.execute(
            "DELETE FROM user_directory_rooms WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )


def set_user_profile_txn(
    conn: sqlite3.Connection, user_id: str, display_name: str | None, avatar_url: str | None
) -> None:
    conn.execute(
        "INSERT INTO user_directory (user_id, display_name, avatar_url) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,"
        " avatar_url = excluded.avatar_url",
        (user_id, display_name, avatar_url),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: Rooms whose members anyone may find: public join rule or world-readable history.
_PUBLIC_ROOM = "(s.join_rule = 'public' OR s.history_visibility = 'world_readable')"


def search_users_txn(
    conn: sqlite3.Connection, searcher: str, words: list[str], max_rows: int
) -> list[DirectoryUser]:
    """Users who share a room with ``searcher`` or are joined to a public room,
    whose user ID or display name contains every one of ``words`` (case
    insensitive), at most ``max_rows`` in no particular order."""
    conditions = []
    params: list[object] = [searcher]
    for word in words:
        pattern = f"%{_escape_like(word.lower())}%"
        conditions.append(
            "(lower(c.user_id) LIKE ? ESCAPE '\\' OR lower(c.name) LIKE ? ESCAPE '\\')"
        )
        params += [pattern, pattern]
    where = " AND ".join(conditions) if conditions else "1"
    rows = conn.execute(
        "WITH visible AS ("
        "  SELECT DISTINCT r.user_id FROM user_directory_rooms AS r"
        "  LEFT JOIN room_summaries AS s ON s.room_id = r.room_id"
        "  WHERE r.room_id IN (SELECT room_id FROM user_directory_rooms WHERE user_id = ?1)"
        f"  OR {_PUBLIC_ROOM}"
        "), candidates AS ("
        "  SELECT v.user_id,"
        "   COALESCE(json_extract(pn.value, '$'), u.display_name) AS name,"
        "   COALESCE(json_extract(pa.value, '$'), u.avatar_url) AS avatar"
        "  FROM visible AS v"
        "  LEFT JOIN user_directory AS u ON u.user_id = v.user_id"
        "  LEFT JOIN profile_fields AS pn ON pn.user_id = v.user_id AND pn.field = 'displayname'"
        "  LEFT JOIN profile_fields AS pa ON pa.user_id = v.user_id AND pa.field = 'avatar_url'"
        ")"
        f" SELECT c.user_id, c.name, c.avatar FROM candidates AS c WHERE {where} LIMIT ?",
        [*params, max_rows],
    )
    return [
        DirectoryUser(
            str(user_id),
            name if isinstance(name, str) else None,
            avatar if isinstance(avatar, str) else None,
        )
        for user_id, name, avatar in rows
    ]
