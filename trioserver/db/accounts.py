"""SQL for local accounts: ``users``, ``access_tokens``, ``refresh_tokens``,
``login_tokens`` (devices: :mod:`trioserver.db.devices`)."""

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
    #: The refresh token issued with this access token, if any.
    refresh_token_hash: bytes | None = None
    #: True while that refresh token still has a predecessor to revoke: the
    #: first use of this access token completes the rotation.
    completes_rotation: bool = False


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
        "SELECT t.user_id, t.device_id, u.is_guest, u.is_admin, u.deactivated, t.expires_ts,"
        " t.refresh_token_hash, r.prev_token_hash IS NOT NULL"
        " FROM access_tokens AS t JOIN users AS u ON u.user_id = t.user_id"
        " LEFT JOIN refresh_tokens AS r ON r.token_hash = t.refresh_token_hash"
        " WHERE t.token_hash = ?",
        (token_hash,),
    ).fetchone()
    if row is None:
        return None
    return TokenOwner(
        row[0], row[1], bool(row[2]), bool(row[3]), bool(row[4]), row[5], row[6], bool(row[7])
    )


def user_exists_txn(conn: sqlite3.Connection, user_id: str) -> bool:
    return conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is not None


def set_password_hash_txn(conn: sqlite3.Connection, user_id: str, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = ? WHERE user_id = ?", (password_hash, user_id))


def upgrade_guest_txn(conn: sqlite3.Connection, user_id: str, password_hash: str) -> bool:
    """Turn the guest ``user_id`` into a full user with a password; False if
    ``user_id`` is not a guest (any more)."""
    cursor = conn.execute(
        "UPDATE users SET is_guest = 0, password_hash = ? WHERE user_id = ? AND is_guest = 1",
        (password_hash, user_id),
    )
    return cursor.rowcount == 1


def mark_deactivated_txn(conn: sqlite3.Connection, user_id: str) -> None:
    conn.execute("UPDATE users SET deactivated = 1 WHERE user_id = ?", (user_id,))


def delete_access_tokens_of_device_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str
) -> None:
    """Invalidate every access and refresh token of one device (the device stays)."""
    conn.execute(
        "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", (user_id, device_id)
    )
    conn.execute(
        "DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ?", (user_id, device_id)
    )


# -- refresh tokens ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefreshedSession:
    user_id: str
    device_id: str


def insert_refresh_token_txn(
    conn: sqlite3.Connection,
    token_hash: bytes,
    user_id: str,
    device_id: str,
    now_ms: int,
    prev_token_hash: bytes | None = None,
) -> None:
    conn.execute(
        "INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_ts, prev_token_hash)"
        " VALUES (?, ?, ?, ?, ?)",
        (token_hash, user_id, device_id, now_ms, prev_token_hash),
    )


def _delete_refresh_token_txn(conn: sqlite3.Connection, token_hash: bytes) -> None:
    """A refresh token and the access tokens issued with it."""
    conn.execute("DELETE FROM access_tokens WHERE refresh_token_hash = ?", (token_hash,))
    conn.execute("DELETE FROM refresh_tokens WHERE token_hash = ?", (token_hash,))


def complete_rotation_txn(conn: sqlite3.Connection, refresh_token_hash: bytes) -> None:
    """The token pair made by a refresh is in use: revoke the refresh token it replaced.

    Spec: "Refreshing access tokens": the old refresh token remains valid
    until the new access token or refresh token is used.
    """
    row = conn.execute(
        "SELECT prev_token_hash FROM refresh_tokens WHERE token_hash = ?", (refresh_token_hash,)
    ).fetchone()
    if row is None or row[0] is None:
        return
    _delete_refresh_token_txn(conn, row[0])
    conn.execute(
        "UPDATE refresh_tokens SET prev_token_hash = NULL WHERE token_hash = ?",
        (refresh_token_hash,),
    )


def rotate_refresh_token_txn(
    conn: sqlite3.Connection,
    old_hash: bytes,
    new_refresh_hash: bytes,
    new_access_hash: bytes,
    now_ms: int,
    expires_ts: int,
) -> RefreshedSession | None:
    """Exchange the refresh token ``old_hash`` for a new access and refresh
    token (None if it is unknown or revoked).

    The old access token goes at once; the old refresh token stays valid until
    the new pair is first used (:func:`complete_rotation_txn`), so a client
    that lost the response can refresh again: that replaces the pair it lost.
    """
    row = conn.execute(
        "SELECT user_id, device_id FROM refresh_tokens WHERE token_hash = ?", (old_hash,)
    ).fetchone()
    if row is None:
        return None
    user_id, device_id = row
    # Using this refresh token also counts as using it: finish its own rotation.
    complete_rotation_txn(conn, old_hash)
    # A pair made earlier from this token but never used is replaced.
    for (lost,) in conn.execute(
        "SELECT token_hash FROM refresh_tokens WHERE prev_token_hash = ?", (old_hash,)
    ).fetchall():
        _delete_refresh_token_txn(conn, lost)
    conn.execute("DELETE FROM access_tokens WHERE refresh_token_hash = ?", (old_hash,))
    conn.execute("UPDATE refresh_tokens SET used_ts = ? WHERE token_hash = ?", (now_ms, old_hash))
    insert_refresh_token_txn(conn, new_refresh_hash, user_id, device_id, now_ms, old_hash)
    insert_access_token_txn(
        conn, new_access_hash, user_id, device_id, now_ms, expires_ts, new_refresh_hash
    )
    return RefreshedSession(user_id, device_id)


# -- login tokens (m.login.token) ---------------------------------------------


def insert_login_token_txn(
    conn: sqlite3.Connection, token_hash: bytes, user_id: str, now_ms: int, expires_ts: int
) -> None:
    conn.execute("DELETE FROM login_tokens WHERE expires_ts <= ?", (now_ms,))
    conn.execute(
        "INSERT INTO login_tokens (token_hash, user_id, created_ts, expires_ts)"
        " VALUES (?, ?, ?, ?)",
        (token_hash, user_id, now_ms, expires_ts),
    )


def delete_login_tokens_of_user_txn(conn: sqlite3.Connection, user_id: str) -> None:
    conn.execute("DELETE FROM login_tokens WHERE user_id = ?", (user_id,))


def consume_login_token_txn(conn: sqlite3.Connection, token_hash: bytes, now_ms: int) -> str | None:
    """The user a login token logs in (deleting it: single use), or None if
    it is unknown, used or expired."""
    row = conn.execute(
        "DELETE FROM login_tokens WHERE token_hash = ? RETURNING user_id, expires_ts",
        (token_hash,),
    ).fetchone()
    if row is None or row[1] <= now_ms:
        return None
    return str(row[0])
