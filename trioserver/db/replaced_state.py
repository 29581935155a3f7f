"""Which state event each state event replaced (``replaced_state``), for
``unsigned.replaces_state`` / ``prev_content`` / ``prev_sender``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trioserver.db.nids import EventNID

__all__ = ["Replaced", "record_replaced_txn", "replaced_states_txn"]


@dataclass(frozen=True, slots=True)
class Replaced:
    """The state event another one replaced: its ID, PDU and whether it is redacted."""

    event_id: str
    pdu: dict[str, Any]
    redacted: bool


def record_replaced_txn(conn: sqlite3.Connection, event_nid: EventNID, replaced: EventNID) -> None:
    conn.execute(
        "INSERT INTO replaced_state (event_nid, replaced_nid) VALUES (?, ?)"
        " ON CONFLICT (event_nid) DO NOTHING",
        (event_nid, replaced),
    )


def replaced_states_txn(conn: sqlite3.Connection, event_ids: Iterable[str]) -> dict[str, Replaced]:
    """For those of ``event_ids`` that replaced a state event: what they replaced."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT i.event_id, p.event_id, e.json, e.redacted_by FROM event_ids AS i"
        " JOIN replaced_state AS s ON s.event_nid = i.event_nid"
        " JOIN event_ids AS p ON p.event_nid = s.replaced_nid"
        " JOIN events AS e ON e.event_nid = s.replaced_nid"
        " WHERE i.event_id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),),
    )
    return {
        str(event_id): Replaced(str(prev_id), json.loads(text), redacted_by is not None)
        for event_id, prev_id, text, redacted_by in rows
    }
