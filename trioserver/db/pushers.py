"""SQL for ``pushers`` (``POST /pushers/set``, ``GET /pushers``).

A pusher is keyed by (app_id, pushkey, user_id). Without ``append`` a new
pusher replaces every other user's pusher with the same app_id and pushkey
(spec: ``POST /pushers/set``, ``append``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Pusher:
    user_id: str
    app_id: str
    pushkey: str
    kind: str
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str
    data: dict[str, Any]
    created_ts: int


_COLUMNS = (
    "user_id, app_id, pushkey, kind, app_display_name, device_display_name,"
    " profile_tag, lang, data, created_ts"
)


def set_pusher_txn(conn: sqlite3.Connection, pusher: Pusher, *, append: bool) -> None:
    if not append:
        conn.execute(
            "DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id != ?",
            (pusher.app_id, pusher.pushkey, pusher.user_id),
        )
    conn.execute(
        f"INSERT INTO pushers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (app_id, pushkey, user_id) DO UPDATE SET kind = excluded.kind,"
        " app_display_name = excluded.app_display_name,"
        " device_display_name = excluded.device_display_name,"
        " profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data",
        (
            pusher.user_id,
            pusher.app_id,
            pusher.pushkey,
            pusher.kind,
            pusher.app_display_name,
            pusher.device_display_name,
            pusher.profile_tag,
            pusher.lang,
            json.dumps(pusher.data),
            pusher.created_ts,
        ),
    )


def delete_pusher_txn(conn: sqlite3.Connection, user_id: str, app_id: str, pushkey: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?",
        (user_id, app_id, pushkey),
    )
    return cursor.rowcount > 0


def pushers_txn(conn: sqlite3.Connection, user_id: str) -> list[Pusher]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM pushers WHERE user_id = ? ORDER BY created_ts, app_id, pushkey",
        (user_id,),
    )
    return [
        Pusher(u, a, p, k, ad, dd, pt, lang, json.loads(data), ts)
        for u, a, p, k, ad, dd, pt, lang, data, ts in rows
    ]
