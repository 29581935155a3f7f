"""SQL for the server's own ed25519 signing keys (table ``server_signing_keys``)."""

from __future__ import annotations

import secrets
import sqlite3
import string
from dataclasses import dataclass

_KEY_VERSION_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class StoredSigningKey:
    key_id: str
    seed: bytes
    created_ts: int
    expired_ts: int | None


def _row(row: tuple[object, ...]) -> StoredSigningKey:
    key_id, seed, created, expired = row
    assert isinstance(key_id, str) and isinstance(seed, bytes) and isinstance(created, int)
    return StoredSigningKey(key_id, seed, created, expired if isinstance(expired, int) else None)


def new_key_id() -> str:
    return "ed25519:" + "".join(secrets.choice(_KEY_VERSION_ALPHABET) for _ in range(6))


def current_key_txn(conn: sqlite3.Connection) -> StoredSigningKey | None:
    row = conn.execute(
        "SELECT key_id, seed, created_ts, expired_ts FROM server_signing_keys"
        " WHERE expired_ts IS NULL"
    ).fetchone()
    return _row(row) if row else None


def all_keys_txn(conn: sqlite3.Connection) -> list[StoredSigningKey]:
    rows = conn.execute(
        "SELECT key_id, seed, created_ts, expired_ts FROM server_signing_keys ORDER BY created_ts"
    ).fetchall()
    return [_row(r) for r in rows]


def ensure_current_key_txn(conn: sqlite3.Connection, now_ms: int) -> StoredSigningKey:
    """The current key, creating one only when the database has none."""
    current = current_key_txn(conn)
    if current is not None:
        return current
    return _insert_new_key(conn, now_ms)


def rotate_key_txn(conn: sqlite3.Connection, now_ms: int) -> StoredSigningKey:
    """Expire the current key (kept as an old verify key) and make a new one."""
    conn.execute(
        "UPDATE server_signing_keys SET expired_ts = ? WHERE expired_ts IS NULL", (now_ms,)
    )
    return _insert_new_key(conn, now_ms)


def _insert_new_key(conn: sqlite3.Connection, now_ms: int) -> StoredSigningKey:
    key = StoredSigningKey(new_key_id(), secrets.token_bytes(32), now_ms, None)
    conn.execute(
        "INSERT INTO server_signing_keys (key_id, seed, created_ts) VALUES (?, ?, ?)",
        (key.key_id, key.seed, key.created_ts),
    )
    return key
