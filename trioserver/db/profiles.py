"""SQL for ``profile_fields``: one row per profile field, the value as JSON text."""

from __future__ import annotations

import sqlite3


def get_profile_txn(conn: sqlite3.Connection, user_id: str) -> dict[str, str]:
    """Every field of ``user_id``'s profile: field name -> JSON text."""
    rows = conn.execute(
        "SELECT field, value FROM profile_fields WHERE user_id = ? ORDER BY field", (user_id,)
    )
    return {str(field): str(value) for field, value in rows}


def get_field_txn(conn: sqlite3.Connection, user_id: str, field: str) -> str | None:
    row = conn.execute(
        "SELECT value FROM profile_fields WHERE user_id = ? AND field = ?", (user_id, field)
    ).fetchone()
    return None if row is None else str(row[0])


def set_field_txn(conn: sqlite3.Connection, user_id: str, field: str, value_json: str) -> None:
    conn.execute(
        "INSERT INTO profile_fields (user_id, field, value) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id, field) DO UPDATE SET value = excluded.value",
        (user_id, field, value_json),
    )


def delete_field_txn(conn: sqlite3.Connection, user_id: str, field: str) -> bool:
    """Remove one field; False if it was not set."""
    cursor = conn.execute(
        "DELETE FROM profile_fields WHERE user_id = ? AND field = ?", (user_id, field)
    )
    return cursor.rowcount > 0


def delete_profile_txn(conn: sqlite3.Connection, user_id: str) -> None:
    conn.execute("DELETE FROM profile_fields WHERE user_id = ?", (user_id,))
