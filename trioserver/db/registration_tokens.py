"""SQL for ``registration_tokens`` (spec: "Token-authenticated registration").

A token is valid while it has not expired and ``pending + completed`` is
below ``uses_allowed`` (NULL: unlimited). A registration that passes the
token stage reserves a use (``pending``); finishing turns it into
``completed``; a session that expires gives it back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass


class TokenExists(Exception):
    """A registration token with that text already exists."""


@dataclass(frozen=True, slots=True)
class RegistrationToken:
    token: str
    uses_allowed: int | None
    pending: int
    completed: int
    expiry_time: int | None

    def is_valid(self, now_ms: int) -> bool:
        if self.expiry_time is not None and self.expiry_time <= now_ms:
            return False
        return self.uses_allowed is None or self.pending + self.completed < self.uses_allowed


_COLUMNS = "token, uses_allowed, pending, completed, expiry_time"


def create_token_txn(
    conn: sqlite3.Connection, token: str, uses_allowed: int | None, expiry_time: int | None
) -> RegistrationToken:
    try:
        conn.execute(
            "INSERT INTO registration_tokens (token, uses_allowed, expiry_time) VALUES (?, ?, ?)",
            (token, uses_allowed, expiry_time),
        )
    except sqlite3.IntegrityError:
        raise TokenExists(token) from None
    return RegistrationToken(token, uses_allowed, 0, 0, expiry_time)


def get_token_txn(conn: sqlite3.Connection, token: str) -> RegistrationToken | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM registration_tokens WHERE token = ?", (token,)
    ).fetchone()
    return None if row is None else RegistrationToken(*row)


def list_tokens_txn(conn: sqlite3.Connection) -> list[RegistrationToken]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM registration_tokens ORDER BY token")
    return [RegistrationToken(*row) for row in rows]


def reserve_use_txn(conn: sqlite3.Connection, token: str, now_ms: int) -> bool:
    """Reserve one use of ``token`` (pending + 1) if it is valid now."""
    cursor = conn.execute(
        "UPDATE registration_tokens SET pending = pending + 1"
        " WHERE token = ? AND (expiry_time IS NULL OR expiry_time > ?)"
        " AND (uses_allowed IS NULL OR pending + completed < uses_allowed)",
        (token, now_ms),
    )
    return cursor.rowcount == 1


def complete_use_txn(conn: sqlite3.Connection, token: str) -> None:
    """A registration that reserved a use of ``token`` finished."""
    conn.execute(
        "UPDATE registration_tokens SET pending = max(pending - 1, 0), completed = completed + 1"
        " WHERE token = ?",
        (token,),
    )


def release_uses_txn(conn: sqlite3.Connection, tokens: Iterable[str]) -> None:
    """Give back uses reserved by registrations that were abandoned."""
    conn.executemany(
        "UPDATE registration_tokens SET pending = max(pending - 1, 0) WHERE token = ?",
        [(token,) for token in tokens],
    )


def reset_pending_txn(conn: sqlite3.Connection) -> None:
    """At start-up: no registration is in progress (their sessions were in memory)."""
    conn.execute("UPDATE registration_tokens SET pending = 0 WHERE pending != 0")
