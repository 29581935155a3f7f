"""Building rooms directly in storage (no auth, no input layer) for storage tests."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trioserver.db.roomserver_events import (
    NewEvent,
    StoreResult,
    add_forward_extremity_txn,
    store_event_txn,
)
from trioserver.db.roomserver_nids import (
    get_or_create_event_nids_txn,
    get_or_create_room_nid_txn,
    get_or_create_state_key_nid_txn,
    get_or_create_type_nid_txn,
)
from trioserver.db.schema import prepare_database
from trioserver.roomserver.state_storage import set_current_state_txn, store_state_changes_txn
from trioserver.roomserver.types import StateSnapshotNID


@contextmanager
def open_test_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A prepared database file; the test runs in one transaction (rolled back)."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    prepare_database(conn)
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


class RoomBuilder:
    """A linear room: each event follows the previous one, state moves on."""

    def __init__(self, conn: sqlite3.Connection, room_id: str = "!room:test") -> None:
        self.conn = conn
        self.room_id = room_id
        self.room_nid = get_or_create_room_nid_txn(conn, room_id, "11")
        self.snapshot: StateSnapshotNID | None = None
        self.last: list[str] = []
        self.depth = 0
        self.sent = 0

    def send(
        self,
        event_type: str,
        state_key: str | None = None,
        content: dict[str, Any] | None = None,
        *,
        sender: str = "@alice:test",
        auth_event_ids: Sequence[str] = (),
    ) -> tuple[str, StoreResult]:
        conn = self.conn
        self.sent += 1
        self.depth += 1
        event_id = f"${self.room_id[1:]}-{self.sent}"
        before = store_state_changes_txn(conn, self.room_nid, self.snapshot, {})
        after = before
        if state_key is not None:
            nid = get_or_create_event_nids_txn(conn, self.room_nid, [event_id])[event_id]
            state_key_tuple = (
                get_or_create_type_nid_txn(conn, event_type),
                get_or_create_state_key_nid_txn(conn, state_key),
            )
            after = store_state_changes_txn(conn, self.room_nid, before, {state_key_tuple: nid})
        pdu: dict[str, Any] = {
            "event_id": event_id,
            "type": event_type,
            "room_id": self.room_id,
            "sender": sender,
            "content": content or {},
            "depth": self.depth,
        }
        if state_key is not None:
            pdu["state_key"] = state_key
        result = store_event_txn(
            conn,
            NewEvent(
                event_id=event_id,
                room_nid=self.room_nid,
                event_type=event_type,
                state_key=state_key,
                depth=self.depth,
                origin_server_ts=1000 + self.sent,
                sender=sender,
                json=json.dumps(pdu, sort_keys=True, separators=(",", ":")),
                prev_event_ids=self.last,
                auth_event_ids=auth_event_ids,
                received_ts=2000 + self.sent,
                state_before=before,
                state_after=after,
            ),
        )
        if after != self.snapshot:
            set_current_state_txn(conn, self.room_nid, after)
        self.snapshot = after
        add_forward_extremity_txn(conn, self.room_nid, result.event_nid)
        self.last = [event_id]
        return event_id, result

    def member(self, user_id: str, membership: str = "join") -> tuple[str, StoreResult]:
        return self.send("m.room.member", user_id, {"membership": membership}, sender=user_id)
