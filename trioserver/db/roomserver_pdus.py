"""SQL reading stored PDUs by event ID (the roomserver's event loader)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

_CHUNK = 500


def load_pdus_txn(conn: sqlite3.Connection, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored PDUs of ``event_ids`` (unknown or only-referenced ones left out)."""
    wanted = list(dict.fromkeys(event_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        placeholders = ",".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT i.event_id, e.json FROM event_ids AS i JOIN events AS e"
            f" ON e.event_nid = i.event_nid WHERE i.event_id IN ({placeholders})",
            chunk,
        )
        for event_id, text in rows:
            found[event_id] = json.loads(text)
    return found
