"""SQL for server-side key backups: ``e2e_room_keys_versions``, ``e2e_room_keys``.

A user's current backup is their highest version not deleted. Deleted
versions stay (marked) so their numbers are never reused.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BackupVersion:
    version: int
    algorithm: str
    auth_data: str  #: canonical JSON
    etag: int


@dataclass(frozen=True, slots=True)
class StoredRoomKey:
    room_id: str
    session_id: str
    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: str  #: canonical JSON


_VERSION_COLUMNS = "version, algorithm, auth_data, etag"


def _version(row: tuple[Any, ...]) -> BackupVersion:
    return BackupVersion(int(row[0]), str(row[1]), str(row[2]), int(row[3]))


def create_version_txn(
    conn: sqlite3.Connection, user_id: str, algorithm: str, auth_data: str
) -> int:
    """A new backup version, which becomes the current one."""
    row = conn.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM e2e_room_keys_versions WHERE user_id = ?",
        (user_id,),
    ).fetchone()
    version = int(row[0])
    conn.execute(
        "INSERT INTO e2e_room_keys_versions (user_id, version, algorithm, auth_data)"
        " VALUES (?, ?, ?, ?)",
        (user_id, version, algorithm, auth_data),
    )
    return version


def current_version_txn(conn: sqlite3.Connection, user_id: str) -> BackupVersion | None:
    row = conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM e2e_room_keys_versions"
        " WHERE user_id = ? AND deleted = 0 ORDER BY version DESC LIMIT 1",
        (user_id,),
    ).fetchone()
    return None if row is None else _version(row)


def get_version_txn(conn: sqlite3.Connection, user_id: str, version: int) -> BackupVersion | None:
    """A version that exists and is not deleted."""
    row = conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM e2e_room_keys_versions"
        " WHERE user_id = ? AND version = ? AND deleted = 0",
        (user_id, version),
    ).fetchone()
    return None if row is None else _version(row)


def set_auth_data_txn(conn: sqlite3.Connection, user_id: str, version: int, auth_data: str) -> None:
    conn.execute(
        "UPDATE e2e_room_keys_versions SET auth_data = ? WHERE user_id = ? AND version = ?",
        (auth_data, user_id, version),
    )


def delete_version_txn(conn: sqlite3.Connection, user_id: str, version: int) -> bool:
    """Delete a version and its keys; True if it exists or existed."""
    conn.execute("DELETE FROM e2e_room_keys WHERE user_id = ? AND version = ?", (user_id, version))
    cursor = conn.execute(
        "UPDATE e2e_room_keys_versions SET deleted = 1 WHERE user_id = ? AND version = ?",
        (user_id, version),
    )
    return cursor.rowcount == 1


def bump_etag_txn(conn: sqlite3.Connection, user_id: str, version: int) -> None:
    conn.execute(
        "UPDATE e2e_room_keys_versions SET etag = etag + 1 WHERE user_id = ? AND version = ?",
        (user_id, version),
    )


def count_keys_txn(conn: sqlite3.Connection, user_id: str, version: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM e2e_room_keys WHERE user_id = ? AND version = ?", (user_id, version)
    ).fetchone()
    return int(row[0])


def _where(room_id: str | None, session_id: str | None) -> tuple[str, tuple[str, ...]]:
    if room_id is None:
        return "", ()
    if session_id is None:
        return " AND room_id = ?", (room_id,)
    return " AND room_id = ? AND session_id = ?", (room_id, session_id)


def get_room_keys_txn(
    conn: sqlite3.Connection,
    user_id: str,
    version: int,
    room_id: str | None = None,
    session_id: str | None = None,
) -> list[StoredRoomKey]:
    """The keys of a version: all of them, one room's, or one session's."""
    where, args = _where(room_id, session_id)
    rows = conn.execute(
        "SELECT room_id, session_id, first_message_index, forwarded_count, is_verified,"
        " session_data FROM e2e_room_keys WHERE user_id = ? AND version = ?"
        f"{where} ORDER BY room_id, session_id",
        (user_id, version, *args),
    )
    return [
        StoredRoomKey(str(r[0]), str(r[1]), int(r[2]), int(r[3]), bool(r[4]), str(r[5]))
        for r in rows
    ]


def put_room_key_txn(
    conn: sqlite3.Connection, user_id: str, version: int, key: StoredRoomKey
) -> None:
    """Store a session's key, replacing what is stored (the caller decided)."""
    conn.execute(
        "INSERT INTO e2e_room_keys (user_id, version, room_id, session_id, first_message_index,"
        " forwarded_count, is_verified, session_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE"
        " SET first_message_index = excluded.first_message_index,"
        " forwarded_count = excluded.forwarded_count, is_verified = excluded.is_verified,"
        " session_data = excluded.session_data",
        (
            user_id,
            version,
            key.room_id,
            key.session_id,
            key.first_message_index,
            key.forwarded_count,
            int(key.is_verified),
            key.session_data,
        ),
    )


def delete_room_keys_txn(
    conn: sqlite3.Connection,
    user_id: str,
    version: int,
    room_id: str | None = None,
    session_id: str | None = None,
) -> int:
    """Delete keys of a version (all, one room's, or one session's); how many."""
    where, args = _where(room_id, session_id)
    cursor = conn.execute(
        f"DELETE FROM e2e_room_keys WHERE user_id = ? AND version = ?{where}",
        (user_id, version, *args),
    )
    return cursor.rowcount
