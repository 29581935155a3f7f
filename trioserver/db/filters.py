"""SQL of ``sync_filters``: filters uploaded with ``POST /user/{userId}/filter``.

The same definition uploaded twice by the same user gets the same ID.
"""

from __future__ import annotations

import sqlite3


def create_filter_txn(conn: sqlite3.Connection, user_id: str, filter_json: str) -> int:
    """The ID of ``user_id``'s filter ``filter_json`` (canonical JSON), stored if new."""
    row = conn.execute(
        "INSERT INTO sync_filters (user_id, filter_json) VALUES (?, ?)"
        " ON CONFLICT (user_id, filter_json) DO UPDATE SET filter_json = excluded.filter_json"
        " RETURNING filter_id",
        (user_id, filter_json),
    ).fetchone()
    return int(row[0])


def get_filter_txn(conn: sqlite3.Connection, user_id: str, filter_id: int) -> str | None:
    """The JSON of ``user_id``'s filter ``filter_id`` (None: no such filter of theirs)."""
    row = conn.execute(
        "SELECT filter_json FROM sync_filters WHERE filter_id = ? AND user_id = ?",
        (filter_id, user_id),
    ).fetchone()
    return None if row is None else str(row[0])
