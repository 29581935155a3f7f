"""SQL for local accounts: ``users``, ``devices``, ``access_tokens``, ``refresh_tokens``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


class UserExists(Exception):
    """The user ID is already taken."""


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """Who an access token belongs to."""

    user_id: str
    device_id: str
    is_guest: bool
    is_admin: bool
    deactivated: bool
    expires_ts: int | None


@dataclass(frozen=True, slots=True)
class StoredUser:
    user_id: str
    password_hash: str | None
    is_admin: bool
    is_guest: bool
    deactivated: bool
    created_ts: int


def create_user_txn(
    conn: sqlite3.Connection,
    user_id: str,
    password_hash: str | None,
    now_ms: int,
    *,
    is_admin: bool = False,
    is_guest: bool = False,
) -> None:
    try:
        conn.execute(
            "INSERT INTO users (user_id, password_hash, is_admin, is_guest, created_ts)"
            " VALUES (?, ?, ?, ?, ?)",
            (user_id, password_hash, int(is_admin), int(is_guest), now_ms),
        )
    except sqlite3.IntegrityError:
        raise UserExists(user_id) from None


def get_user_txn(conn: sqlite3.Connection, user_id: str) -> StoredUser | None:
    row = conn.execute(
        "SELECT user_id, password_hash, is_admin, is_guest, deactivated, created_ts"
        " FROM users WHERE user_id = ?",
        (user_id,),
    ).fetchone()
    if row is None:
        return None
    return StoredUser(row[0], row[1], bool(row[2]), bool(row[3]), bool(row[4]), row[5])


def set_admin_txn(conn: sqlite3.Connection, user_id: str, is_admin: bool) -> None:
    conn.execute("UPDATE users SET is_admin = ? WHERE user_id = ?", (int(is_admin), user_id))


def count_users_txn(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def upsert_device_txn(
    conn: sqlite3.Connection,
    user_id: str,
    device_id: str,
    display_name: str | None,
    now_ms: int,
) -> None:
    """Create the device, or keep it (and its name unless a new one is given)."""
    conn.execute(
        "INSERT INTO devices (user_id, device_id, display_name, created_ts) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id, device_id) DO UPDATE"
        " SET display_name = coalesce(excluded.display_name, devices.display_name)",
        (user_id, device_id, display_name, now_ms),
    )


def insert_access_token_txn(
    conn: sqlite3.Connection,
    token_hash: bytes,
    user_id: str,
    device_id: str,
    now_ms: int,
    expires_ts: int | None = None,
    refresh_token_hash: bytes | None = None,
) -> None:
    conn.execute(
        "INSERT INTO access_tokens"
        " (token_hash, user_id, device_id, created_ts, expires_ts, refresh_token_hash)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (token_hash, user_id, device_id, now_ms, expires_ts, refresh_token_hash),
    )


def lookup_access_token_txn(conn: sqlite3.Connection, token_hash: bytes) -> TokenOwner | None:
    row = conn.execute(
        "SELECT t.user_id, t.device_id, u.is_guest, u.is_admin, u.deactivated, t.expires_ts"
        " FROM access_tokens AS t JOIN users AS u ON u.user_id = t.user_id"
        " WHERE t.token_hash = ?",
        (token_hash,),
    ).fetchone()
    if row is None:
        return None
    return TokenOwner(row[0], row[1], bool(row[2]), bool(row[3]), bool(row[4]), row[5])
