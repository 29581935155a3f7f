"""PUT send/redact with transaction IDs, GET /rooms/{roomId}/event/{eventId},
and history visibility."""

from __future__ import annotations

import sqlite3

import pytest
import trio

from tests.api.rooms_helpers import V3, err, q, user
from trioserver.testing import TestHomeserver


def count_messages(conn: sqlite3.Connection, body: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM events WHERE json_extract(json, '$.content.body') = ?", (body,)
    ).fetchone()
    return int(row[0])


async def test_txn_ids_are_idempotent_per_device_and_path(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    first = await alice.send_ok(room, "once", "txn1")
    assert await alice.send_ok(room, "once", "txn1") == first
    # Another path (event type) or another device: a new event.
    other_type = await alice.send(room, {"body": "other"}, "txn1", event_type="org.example")
    assert other_type.json()["event_id"] != first
    event = await alice.get_event(room, first)
    assert event.json()["unsigned"]["transaction_id"] == "txn1"
    assert "io.trioserver.txn" not in event.json()["unsigned"]
    assert await homeserver.services.db.run_read(count_messages, "once") == 1


async def test_concurrent_retries_store_one_event(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    ids: list[str] = []

    async def attempt() -> None:
        ids.append(await alice.send_ok(room, "racy", "same-txn"))

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(attempt)
    assert len(set(ids)) == 1 and len(ids) == 8
    assert await homeserver.services.db.run_read(count_messages, "racy") == 1


async def test_the_transaction_commits_with_its_event_or_not_at_all(
    homeserver: TestHomeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction ID is recorded in the event's own commit: when that
    commit fails, neither exists, and the retry makes exactly one event."""
    import trioserver.roomserver.commit as commit

    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    real = commit.record_txn_txn

    def failing(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(commit, "record_txn_txn", failing)
    failed = await alice.send(room, {"msgtype": "m.text", "body": "atomic"}, "t-atomic")
    assert failed.status == 500
    assert await homeserver.services.db.run_read(count_messages, "atomic") == 0
    monkeypatch.setattr(commit, "record_txn_txn", real)
    event_id = await alice.send_ok(room, "atomic", "t-atomic")
    assert await alice.send_ok(room, "atomic", "t-atomic") == event_id
    assert await homeserver.services.db.run_read(count_messages, "atomic") == 1


async def test_send_errors(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room()
    assert err(await bob.send(room, {"body": "x"}, "t")) == (403, "M_FORBIDDEN")
    assert err(await alice.send("!nope:localhost", {"body": "x"}, "t")) == (403, "M_FORBIDDEN")
    assert err(await alice.send("nope", {"body": "x"}, "t")) == (400, "M_INVALID_PARAM")
    assert err(await alice.send(room, {"n": 1.5}, "t")) == (400, "M_BAD_JSON")
    assert err(await alice.send(room, {"n": -(2**53)}, "t")) == (400, "M_BAD_JSON")
    assert err(await alice.send(room, {"body": "x" * 66_000}, "t")) == (413, "M_TOO_LARGE")
    path = f"{V3}/rooms/{q(room)}/send/m.room.message/t"
    assert err(await alice.client.put(path, data=b"nope")) == (400, "M_NOT_JSON")
    assert err(await alice.client.put(path, data=b"[1]")) == (400, "M_NOT_JSON")
    assert err(await homeserver.client().put(path, json_body={})) == (401, "M_MISSING_TOKEN")


async def test_redaction(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    mine = await bob.send_ok(room, "secret", "t1")
    theirs = await alice.send_ok(room, "alice's", "t2")
    redact = f"{V3}/rooms/{q(room)}/redact"
    denied = await bob.client.put(f"{redact}/{q(theirs)}/r1", json_body={})
    assert err(denied) == (403, "M_FORBIDDEN")
    ok = await bob.client.put(f"{redact}/{q(mine)}/r2", json_body={"reason": "oops"})
    assert ok.status == 200
    again = await bob.client.put(f"{redact}/{q(mine)}/r2", json_body={"reason": "oops"})
    assert again.json() == ok.json()
    by_mod = await alice.client.put(f"{redact}/{q(mine)}/r3", data=b"")
    assert by_mod.status == 200
    seen = (await alice.get_event(room, mine)).json()
    assert seen["content"] == {}
    because = seen["unsigned"]["redacted_because"]
    assert because["event_id"] in (ok.json()["event_id"], by_mod.json()["event_id"])
    assert because["redacts"] == mine and because["content"]["redacts"] == mine
    redaction = (await alice.get_event(room, ok.json()["event_id"])).json()
    assert redaction["redacts"] == mine and redaction["content"]["reason"] == "oops"
    assert err(await bob.client.put(f"{redact}/nope/r4", json_body={})) == (400, "M_INVALID_PARAM")


async def test_get_event_not_found(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room()
    other = await alice.create_room()
    event_id = await alice.send_ok(room, "x", "t")
    assert err(await alice.get_event(other, event_id)) == (404, "M_NOT_FOUND")
    assert err(await alice.get_event(room, "$unknown")) == (404, "M_NOT_FOUND")
    assert err(await bob.get_event(room, event_id)) == (404, "M_NOT_FOUND")


async def test_history_visibility_joined_and_shared(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    joined_only = await alice.create_room(
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
        ],
    )
    shared = await alice.create_room(preset="public_chat")
    early_joined = await alice.send_ok(joined_only, "before", "a")
    early_shared = await alice.send_ok(shared, "before", "b")
    await bob.join(joined_only)
    await bob.join(shared)
    late = await alice.send_ok(joined_only, "after", "c")
    assert err(await bob.get_event(joined_only, early_joined)) == (404, "M_NOT_FOUND")
    assert (await bob.get_event(joined_only, late)).status == 200
    assert (await bob.get_event(shared, early_shared)).status == 200
    # Once he leaves, the shared history from before his join stays his
    # (he joined after it); what is sent after he left does not.
    await bob.post(f"/rooms/{q(shared)}/leave")
    assert (await bob.get_event(shared, early_shared)).status == 200
    gone = await alice.send_ok(shared, "after bob left", "g")
    assert err(await bob.get_event(shared, gone)) == (404, "M_NOT_FOUND")


async def test_world_readable_and_invited(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    readable = await alice.create_room(
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "content": {"history_visibility": "world_readable"},
            }
        ],
    )
    event_id = await alice.send_ok(readable, "public", "t")
    assert (await bob.get_event(readable, event_id)).status == 200
    assert (await bob.client.get(f"{V3}/rooms/{q(readable)}/state")).status == 200
    invited = await alice.create_room(
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "invited"}}
        ],
    )
    before = await alice.send_ok(invited, "before invite", "u")
    await alice.invite(invited, bob.user_id)
    after = await alice.send_ok(invited, "after invite", "v")
    assert err(await bob.get_event(invited, before)) == (404, "M_NOT_FOUND")
    assert (await bob.get_event(invited, after)).status == 200
