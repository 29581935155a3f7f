"""No request a client makes often reads a whole big table.

A full scan is invisible in a small test database and ruinous in a large
one (one such query, the highest stream position, scanned every event on
every send). This test runs the common client requests against a test
homeserver, records every SQL statement they run, and asks SQLite for the
plan of each: none may SCAN a table that grows with use.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import trio.testing

from tests.api.rooms_helpers import V3, q, user
from trioserver.testing import open_test_homeserver

#: Tables that grow with the server's use; a SCAN of any of them is a bug.
GROWING = {
    "access_tokens",
    "account_data",
    "current_state",
    "device_list_changes",
    "devices",
    "e2e_device_keys",
    "e2e_one_time_keys",
    "event_auth",
    "event_edges",
    "event_ids",
    "event_relations",
    "event_search_events",
    "events",
    "forward_extremities",
    "memberships",
    "receipts",
    "replaced_state",
    "room_txn_ids",
    "rooms",
    "state_block_entries",
    "state_blocks",
    "state_deltas",
    "state_snapshot_blocks",
    "to_device_messages",
    "user_directory",
    "user_directory_rooms",
    "users",
}


def full_scans(conn: sqlite3.Connection, statement: str) -> list[str]:
    words = statement.lstrip().split(None, 1)
    if not words or words[0].upper() not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
        return []
    try:
        plan = conn.execute("EXPLAIN QUERY PLAN " + statement).fetchall()
    except sqlite3.Error:
        return []  # FTS5's own statements, which it prepares itself
    scans = []
    for row in plan:
        detail = str(row[3])
        # "SEARCH t" with no index named is a scan too: max() over a column
        # whose only index is partial is planned that way.
        table = detail.split()[1] if " " in detail else ""
        scan = detail.startswith("SCAN ") or (
            detail.startswith("SEARCH ")
            and "USING" not in detail
            and not _extreme_of_rowid(conn, statement, table)
        )
        if scan and table in GROWING:
            scans.append(detail)
    return scans


def _extreme_of_rowid(conn: sqlite3.Connection, statement: str, table: str) -> bool:
    """``max(c)``/``min(c)`` of the table's INTEGER PRIMARY KEY: also planned
    as a bare "SEARCH t", but one step to the b-tree's end."""
    found = re.search(r"\b(?:max|min)\((\w+)\)\s+FROM\s+(\w+)", statement, re.IGNORECASE)
    if found is None or found.group(2) != table:
        return False
    columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return any(c[1] == found.group(1) and c[5] == 1 and c[2].upper() == "INTEGER" for c in columns)


async def test_common_requests_never_scan_a_growing_table(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_homeserver() as hs:
        conn = hs.services.db._writer_conn  # inline mode: every query runs here
        statements: set[str] = set()
        conn.set_trace_callback(statements.add)
        try:
            await scenario(hs)
        finally:
            conn.set_trace_callback(None)
        assert len(statements) > 100
        bad = {s: scans for s in statements if (scans := full_scans(conn, s))}
        assert not bad, "\n\n".join(f"{s[:400]}\n  {scans}" for s, scans in bad.items())


async def scenario(hs: Any) -> None:
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await alice.create_room(preset="public_chat", name="Plans")
    assert (await bob.join(room)).status == 200
    first = await alice.send_ok(room, "hello", "t1")
    await bob.send_ok(room, "hi", "t2")
    thread = {"msgtype": "m.text", "body": "in thread"}
    thread["m.relates_to"] = {"rel_type": "m.thread", "event_id": first}
    assert (await bob.send(room, thread, "t3")).status == 200
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": first, "key": "👍"}}
    assert (await bob.send(room, reaction, "t4", "m.reaction")).status == 200
    assert (await alice.send(room, {"msgtype": "m.text", "body": "x"}, "t1")).status == 200
    await hs.settle()

    synced = await alice.client.get(f"{V3}/sync")
    assert synced.status == 200
    since = synced.json()["next_batch"]
    await bob.send_ok(room, "later", "t5")
    assert (await alice.client.get(f"{V3}/sync", query={"since": since})).status == 200
    gets = [
        f"/rooms/{q(room)}/messages?dir=b&limit=10",
        f"/rooms/{q(room)}/context/{q(first)}",
        f"/rooms/{q(room)}/event/{q(first)}",
        f"/rooms/{q(room)}/members",
        f"/rooms/{q(room)}/joined_members",
        f"/rooms/{q(room)}/state",
        "/joined_rooms",
        f"/profile/{q(bob.user_id)}",
        "/devices",
    ]
    for path in gets:
        response = await alice.client.get(f"{V3}{path}")
        assert response.status == 200, (path, response.json())
    for path in (f"/rooms/{q(room)}/relations/{q(first)}", f"/rooms/{q(room)}/threads"):
        response = await alice.client.get(f"/_matrix/client/v1{path}")
        assert response.status == 200, (path, response.json())
    receipt = await alice.post(f"/rooms/{q(room)}/receipt/m.read/{q(first)}")
    assert receipt.status == 200
    typing = await alice.client.put(
        f"{V3}/rooms/{q(room)}/typing/{q(alice.user_id)}",
        json_body={"typing": True, "timeout": 1000},
    )
    assert typing.status == 200
    to_device = await alice.client.put(
        f"{V3}/sendToDevice/m.test/td1",
        json_body={"messages": {bob.user_id: {bob.device_id: {"a": 1}}}},
    )
    assert to_device.status == 200
    keys = await bob.post("/keys/query", {"device_keys": {alice.user_id: []}})
    assert keys.status == 200
    found = await alice.post("/user_directory/search", {"search_term": "bob"})
    assert found.status == 200
    search = {"search_categories": {"room_events": {"search_term": "hello"}}}
    searched = await alice.post("/search", search)
    assert searched.status == 200
    assert (await bob.client.get(f"{V3}/sync", query={"since": since})).status == 200
