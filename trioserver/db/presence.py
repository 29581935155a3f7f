"""Presence reads: who shares a joined room with a user (presence itself is
kept in memory by :mod:`trioserver.sync.presence`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable


def users_sharing_room_txn(
    conn: sqlite3.Connection, user_id: str, candidates: Iterable[str] | None = None
) -> set[str]:
    """Users joined to at least one room ``user_id`` is joined to (``user_id``
    included when joined anywhere); only among ``candidates`` when given."""
    sql = (
        "SELECT DISTINCT k2.state_key FROM event_state_keys AS k"
        " JOIN memberships AS m ON m.user_nid = k.state_key_nid AND m.membership = 'join'"
        " JOIN memberships AS m2 ON m2.room_nid = m.room_nid AND m2.membership = 'join'"
        " JOIN event_state_keys AS k2 ON k2.state_key_nid = m2.user_nid"
        " WHERE k.state_key = ?"
    )
    params: tuple[object, ...] = (user_id,)
    if candidates is not None:
        sql += " AND k2.state_key IN (SELECT value FROM json_each(?))"
        params += (json.dumps(sorted(set(candidates))),)
    return {str(row[0]) for row in conn.execute(sql, params)}
