"""SQL for device keys, one-time keys, fallback keys and the device-list
stream: ``e2e_device_keys``, ``e2e_one_time_keys``, ``e2e_fallback_keys``,
``device_list_changes`` (cross-signing: :mod:`trioserver.db.cross_signing`).

Key objects are canonical JSON text; these functions store and return text
and never look inside it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass


class OneTimeKeyConflict(Exception):
    """A one-time key ID was uploaded again with different content."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A one-time or fallback key to store."""

    algorithm: str
    key_id: str
    key_json: str


@dataclass(frozen=True, slots=True)
class QueriedDevice:
    device_id: str
    key_json: str
    display_name: str | None


@dataclass(frozen=True, slots=True)
class ClaimedKey:
    user_id: str
    device_id: str
    algorithm: str
    key_id: str
    key_json: str


# -- the device-list stream ------------------------------------------------


def record_device_list_change_txn(
    conn: sqlite3.Connection, user_id: str, only_for: str | None = None
) -> int:
    """Append a change of ``user_id``'s devices or keys to the device-list
    stream; returns its position. ``only_for``: the one user who may be told
    (user-signing keys and the signatures made with them), None for everyone
    who tracks ``user_id``. Positions grow in commit order (one writer)."""
    cursor = conn.execute(
        "INSERT INTO device_list_changes (user_id, only_for) VALUES (?, ?)", (user_id, only_for)
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def device_list_position_txn(conn: sqlite3.Connection) -> int:
    """The device-list stream's current (highest) position; 0 when empty."""
    row = conn.execute("SELECT max(stream_pos) FROM device_list_changes").fetchone()
    return int(row[0] or 0)


def device_list_changes_txn(
    conn: sqlite3.Connection, from_pos: int, to_pos: int, viewer: str
) -> list[str]:
    """The users whose devices or keys changed after ``from_pos`` up to and
    including ``to_pos``, as ``viewer`` may be told (sorted). Who shares a
    room with whom is for the caller (``/sync`` ``device_lists.changed``,
    ``/keys/changes``)."""
    rows = conn.execute(
        "SELECT DISTINCT user_id FROM device_list_changes"
        " WHERE stream_pos > ? AND stream_pos <= ? AND (only_for IS NULL OR only_for = ?)"
        " ORDER BY user_id",
        (from_pos, to_pos, viewer),
    )
    return [str(row[0]) for row in rows]


# -- device keys ------------------------------------------------------------


def device_exists_txn(conn: sqlite3.Connection, user_id: str, device_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?", (user_id, device_id)
    ).fetchone()
    return row is not None


def get_device_keys_txn(conn: sqlite3.Connection, user_id: str, device_id: str) -> str | None:
    row = conn.execute(
        "SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?",
        (user_id, device_id),
    ).fetchone()
    return None if row is None else str(row[0])


def set_device_keys_txn(
    conn: sqlite3.Connection,
    user_id: str,
    device_id: str,
    key_json: str,
    ed25519_key: str,
    now_ms: int,
) -> bool:
    """Store a device's identity keys; False (nothing done) if the very same
    object is stored already. New keys are a device-list change; keys that
    replace others also drop the signatures made on and by the old ones."""
    existing = get_device_keys_txn(conn, user_id, device_id)
    if existing == key_json:
        return False
    if existing is not None:
        _delete_device_signatures(conn, user_id, [device_id])
    conn.execute(
        "INSERT INTO e2e_device_keys (user_id, device_id, key_json, ed25519_key, added_ts)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO UPDATE"
        " SET key_json = excluded.key_json, ed25519_key = excluded.ed25519_key,"
        " added_ts = excluded.added_ts",
        (user_id, device_id, key_json, ed25519_key, now_ms),
    )
    record_device_list_change_txn(conn, user_id)
    return True


def query_device_keys_txn(
    conn: sqlite3.Connection, user_id: str, device_ids: Collection[str] | None
) -> list[QueriedDevice]:
    """The keys of ``user_id``'s devices (all, or those of ``device_ids``) that
    have uploaded any, with the devices' display names."""
    sql = (
        "SELECT k.device_id, k.key_json, d.display_name FROM e2e_device_keys AS k"
        " JOIN devices AS d ON d.user_id = k.user_id AND d.device_id = k.device_id"
        " WHERE k.user_id = ?"
    )
    if device_ids is None:
        rows = conn.execute(sql + " ORDER BY k.device_id", (user_id,)).fetchall()
    else:
        rows = []
        for device_id in sorted(set(device_ids)):
            rows.extend(conn.execute(sql + " AND k.device_id = ?", (user_id, device_id)))
    return [QueriedDevice(str(r[0]), str(r[1]), r[2]) for r in rows]


def local_user_exists_txn(conn: sqlite3.Connection, user_id: str) -> bool:
    return conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is not None


def _delete_device_signatures(
    conn: sqlite3.Connection, user_id: str, device_ids: Sequence[str]
) -> None:
    """Signatures on these devices' keys, and those made with their keys."""
    conn.executemany(
        "DELETE FROM e2e_signatures WHERE target_user_id = ? AND target_key_id = ?",
        [(user_id, device_id) for device_id in device_ids],
    )
    conn.executemany(
        "DELETE FROM e2e_signatures WHERE signer_user_id = ? AND signer_key_id = ?",
        [(user_id, f"ed25519:{device_id}") for device_id in device_ids],
    )


def delete_device_keys_txn(
    conn: sqlite3.Connection, user_id: str, device_ids: Sequence[str]
) -> None:
    """Delete everything end-to-end stored for these devices of ``user_id``
    (identity keys, one-time and fallback keys, signatures on and by them) and
    record a device-list change. Call it wherever devices are deleted, in the
    same transaction (``trioserver.db.devices.delete_devices_txn``), before
    the ``devices`` rows go. Unknown device IDs are ignored; an empty list
    does nothing."""
    if not device_ids:
        return
    params = [(user_id, device_id) for device_id in device_ids]
    conn.executemany("DELETE FROM e2e_device_keys WHERE user_id = ? AND device_id = ?", params)
    conn.executemany("DELETE FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?", params)
    conn.executemany("DELETE FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ?", params)
    _delete_device_signatures(conn, user_id, device_ids)
    record_device_list_change_txn(conn, user_id)


# -- one-time and fallback keys ---------------------------------------------


def add_one_time_keys_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, keys: Iterable[KeyRow]
) -> None:
    """Store one-time keys. A key ID already held with the same content is
    skipped; with different content it raises :class:`OneTimeKeyConflict`
    (the caller's savepoint then undoes the whole upload)."""
    for key in keys:
        row = conn.execute(
            "SELECT key_json FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ? AND key_id = ?",
            (user_id, device_id, key.algorithm, key.key_id),
        ).fetchone()
        if row is not None:
            if row[0] != key.key_json:
                raise OneTimeKeyConflict(f"{key.algorithm}:{key.key_id}")
            continue
        conn.execute(
            "INSERT INTO e2e_one_time_keys (user_id, device_id, algorithm, key_id, key_json)"
            " VALUES (?, ?, ?, ?, ?)",
            (user_id, device_id, key.algorithm, key.key_id, key.key_json),
        )


def set_fallback_keys_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str, keys: Iterable[KeyRow]
) -> None:
    """Replace the device's fallback key of each algorithm given; a new key
    starts unused. Re-uploading the stored key keeps its used mark (a retried
    upload must not make a used key look fresh)."""
    for key in keys:
        conn.execute(
            "INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, key_json, used)"
            " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (user_id, device_id, algorithm) DO UPDATE"
            " SET key_id = excluded.key_id, key_json = excluded.key_json, used = 0"
            " WHERE key_id != excluded.key_id OR key_json != excluded.key_json",
            (user_id, device_id, key.algorithm, key.key_id, key.key_json),
        )


def one_time_key_counts_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str
) -> dict[str, int]:
    """Unclaimed one-time keys of a device per algorithm (``/keys/upload``'s
    ``one_time_key_counts``, ``/sync``'s ``device_one_time_keys_count``)."""
    rows = conn.execute(
        "SELECT algorithm, count(*) FROM e2e_one_time_keys"
        " WHERE user_id = ? AND device_id = ? GROUP BY algorithm",
        (user_id, device_id),
    )
    return {str(algorithm): int(count) for algorithm, count in rows}


def unused_fallback_key_types_txn(
    conn: sqlite3.Connection, user_id: str, device_id: str
) -> list[str]:
    """Algorithms of the device's fallback keys not yet handed out (``/sync``'s
    ``device_unused_fallback_key_types``), sorted."""
    rows = conn.execute(
        "SELECT algorithm FROM e2e_fallback_keys"
        " WHERE user_id = ? AND device_id = ? AND used = 0 ORDER BY algorithm",
        (user_id, device_id),
    )
    return [str(row[0]) for row in rows]


def claim_keys_txn(
    conn: sqlite3.Connection, wanted: Iterable[tuple[str, str, str]]
) -> list[ClaimedKey]:
    """Claim one key per (user ID, device ID, algorithm): the oldest unclaimed
    one-time key, deleted here, or else the fallback key, marked used and
    kept. Must run in a write transaction: select and delete are one atomic
    step, so no key is ever handed out twice. Devices with neither are
    left out of the result."""
    claimed: list[ClaimedKey] = []
    for user_id, device_id, algorithm in wanted:
        row = conn.execute(
            "SELECT key_nid, key_id, key_json FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ? ORDER BY key_nid LIMIT 1",
            (user_id, device_id, algorithm),
        ).fetchone()
        if row is not None:
            conn.execute("DELETE FROM e2e_one_time_keys WHERE key_nid = ?", (row[0],))
            claimed.append(ClaimedKey(user_id, device_id, algorithm, str(row[1]), str(row[2])))
            continue
        rows = conn.execute(
            "UPDATE e2e_fallback_keys SET used = 1"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ? RETURNING key_id, key_json",
            (user_id, device_id, algorithm),
        ).fetchall()  # all: a RETURNING statement left unfinished would hold the write
        for key_id, key_json in rows:
            claimed.append(ClaimedKey(user_id, device_id, algorithm, str(key_id), str(key_json)))
    return claimed
