"""SQL of ``content_reports``: reports of events, rooms and users
(spec: ``modules/report_content.md``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Report:
    report_id: int
    reporter: str
    room_id: str | None
    event_id: str | None
    target_user_id: str | None
    reason: str | None
    received_ts: int


def add_report_txn(
    conn: sqlite3.Connection,
    reporter: str,
    *,
    room_id: str | None,
    event_id: str | None,
    target_user_id: str | None,
    reason: str | None,
    received_ts: int,
) -> int:
    """Store a report; its ID."""
    cursor = conn.execute(
        "INSERT INTO content_reports (reporter, room_id, event_id, target_user_id, reason,"
        " received_ts) VALUES (?, ?, ?, ?, ?, ?)",
        (reporter, room_id, event_id, target_user_id, reason, received_ts),
    )
    return int(cursor.lastrowid or 0)


def reports_txn(conn: sqlite3.Connection, room_id: str | None = None) -> list[Report]:
    """Reports, oldest first (of one room when ``room_id`` is given)."""
    rows = conn.execute(
        "SELECT report_id, reporter, room_id, event_id, target_user_id, reason, received_ts"
        " FROM content_reports WHERE ? IS NULL OR room_id = ? ORDER BY report_id",
        (room_id, room_id),
    )
    return [Report(*row) for row in rows]
