"""SQL for cross-signing keys and the signatures uploaded for keys:
``e2e_cross_signing_keys``, ``e2e_signatures``."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass

#: target key ID -> signer user ID -> signer key ID -> signature
Signatures = dict[str, dict[str, dict[str, str]]]


@dataclass(frozen=True, slots=True)
class SignatureRow:
    target_user_id: str
    target_key_id: str  #: a device ID, or a master key's public key
    signer_user_id: str
    signer_key_id: str
    signature: str


def get_cross_signing_keys_txn(conn: sqlite3.Connection, user_id: str) -> dict[str, str]:
    """``user_id``'s current cross-signing keys: usage -> canonical JSON."""
    rows = conn.execute(
        "SELECT usage, key_json FROM e2e_cross_signing_keys WHERE user_id = ?", (user_id,)
    )
    return {str(usage): str(key_json) for usage, key_json in rows}


def set_cross_signing_key_txn(
    conn: sqlite3.Connection,
    user_id: str,
    usage: str,
    public_key: str,
    key_json: str,
    now_ms: int,
) -> bool:
    """Store ``user_id``'s key of ``usage``; False if the very same key is
    stored already. A replaced key takes the signatures made on it and with
    it along. The caller records the device-list change."""
    row = conn.execute(
        "SELECT public_key, key_json FROM e2e_cross_signing_keys WHERE user_id = ? AND usage = ?",
        (user_id, usage),
    ).fetchone()
    if row is not None:
        if row[1] == key_json:
            return False
        old_public_key = str(row[0])
        conn.execute(
            "DELETE FROM e2e_signatures WHERE target_user_id = ? AND target_key_id = ?",
            (user_id, old_public_key),
        )
        conn.execute(
            "DELETE FROM e2e_signatures WHERE signer_user_id = ? AND signer_key_id = ?",
            (user_id, f"ed25519:{old_public_key}"),
        )
    conn.execute(
        "INSERT INTO e2e_cross_signing_keys (user_id, usage, public_key, key_json, added_ts)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, usage) DO UPDATE"
        " SET public_key = excluded.public_key, key_json = excluded.key_json,"
        " added_ts = excluded.added_ts",
        (user_id, usage, public_key, key_json, now_ms),
    )
    return True


def store_signatures_txn(
    conn: sqlite3.Connection, rows: Iterable[SignatureRow]
) -> list[SignatureRow]:
    """Store signatures; returns those that were new or changed."""
    changed: list[SignatureRow] = []
    for sig in rows:
        cursor = conn.execute(
            "INSERT INTO e2e_signatures"
            " (target_user_id, target_key_id, signer_user_id, signer_key_id, signature)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (target_user_id, target_key_id, signer_user_id, signer_key_id)"
            " DO UPDATE SET signature = excluded.signature"
            " WHERE signature != excluded.signature",
            (
                sig.target_user_id,
                sig.target_key_id,
                sig.signer_user_id,
                sig.signer_key_id,
                sig.signature,
            ),
        )
        if cursor.rowcount:
            changed.append(sig)
    return changed


def signatures_on_txn(
    conn: sqlite3.Connection,
    target_user_id: str,
    target_key_ids: Collection[str],
    signer_user_ids: Collection[str],
) -> Signatures:
    """The stored signatures on ``target_user_id``'s keys ``target_key_ids``
    made by the users ``signer_user_ids`` (who may see which: the caller)."""
    found: Signatures = {}
    signers = sorted(set(signer_user_ids))
    marks = ", ".join("?" * len(signers))
    for key_id in sorted(set(target_key_ids)):
        rows = conn.execute(
            "SELECT signer_user_id, signer_key_id, signature FROM e2e_signatures"
            f" WHERE target_user_id = ? AND target_key_id = ? AND signer_user_id IN ({marks})",
            (target_user_id, key_id, *signers),
        )
        for signer, signer_key_id, signature in rows:
            found.setdefault(key_id, {}).setdefault(str(signer), {})[str(signer_key_id)] = str(
                signature
            )
    return found
