"""Unread counts, derived per user from push rules after the read receipt."""

from __future__ import annotations

import sqlite3
from typing import Any

import trio
import trio.testing

from tests.api.rooms_helpers import V3, User, q, user
from trioserver.roomserver.inputs import LocalEvent
from trioserver.testing import TestHomeserver


def _receipt_url(room: str, event_id: str) -> str:
    return f"{V3}/rooms/{q(room)}/receipt/m.read/{q(event_id)}"


async def _counts(hs: TestHomeserver, user_id: str, room: str) -> dict[str, Any]:
    return (await hs.services.unread.unread_counts(user_id, [room]))[room]


def _text(body: str, **extra: Any) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body, **extra}


async def _pair(hs: TestHomeserver) -> tuple[User, User, str]:
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    return alice, bob, room


async def test_counts_and_read_receipt(homeserver: TestHomeserver) -> None:
    alice, bob, room = await _pair(homeserver)
    assert await _counts(homeserver, bob.user_id, room) == {
        "notification_count": 0,
        "highlight_count": 0,
        "unread_thread_notifications": {},
    }
    await alice.send_ok(room, "hello", "t1")
    await alice.send_ok(room, "again", "t2")
    await alice.send(room, {"msgtype": "m.notice", "body": "bot"}, "t3")  # suppressed
    mention = _text("hey", **{"m.mentions": {"user_ids": [bob.user_id]}})
    last = (await alice.send(room, mention, "t4")).json()["event_id"]
    counts = await _counts(homeserver, bob.user_id, room)
    assert (counts["notification_count"], counts["highlight_count"]) == (3, 1)
    # Own messages never count.
    assert (await _counts(homeserver, alice.user_id, room))["notification_count"] == 0
    # Cached and extended by new events.
    await alice.send_ok(room, "more", "t5")
    assert (await _counts(homeserver, bob.user_id, room))["notification_count"] == 4
    # A receipt in the middle, then at the latest event.
    assert (await bob.client.post(_receipt_url(room, last), json_body={})).status == 200
    counts = await _counts(homeserver, bob.user_id, room)
    assert (counts["notification_count"], counts["highlight_count"]) == (1, 0)
    newest = await alice.send_ok(room, "newest", "t6")
    assert (await bob.client.post(_receipt_url(room, newest), json_body={})).status == 200
    counts = await _counts(homeserver, bob.user_id, room)
    assert (counts["notification_count"], counts["highlight_count"]) == (0, 0)


async def test_private_receipt_clears_and_room_mention_needs_power(
    homeserver: TestHomeserver,
) -> None:
    alice, bob, room = await _pair(homeserver)
    at_room = _text("@room hi", **{"m.mentions": {"room": True}})
    await bob.send(room, at_room, "b1")  # bob has power 0 < 50: no highlight for alice
    counts = await _counts(homeserver, alice.user_id, room)
    assert (counts["notification_count"], counts["highlight_count"]) == (1, 0)
    event = (await alice.send(room, at_room, "a1")).json()["event_id"]  # alice has 100
    counts = await _counts(homeserver, bob.user_id, room)
    assert (counts["notification_count"], counts["highlight_count"]) == (1, 1)
    private = f"{V3}/rooms/{q(room)}/receipt/m.read.private/{q(event)}"
    assert (await bob.client.post(private, json_body={})).status == 200
    assert (await _counts(homeserver, bob.user_id, room))["notification_count"] == 0


async def test_threaded_counts(homeserver: TestHomeserver) -> None:
    alice, bob, room = await _pair(homeserver)
    root = await alice.send_ok(room, "root", "r")
    rel = {"rel_type": "m.thread", "event_id": root}
    t1 = (await alice.send(room, _text("t1", **{"m.relates_to": rel}), "t1")).json()["event_id"]
    mention = {"m.mentions": {"user_ids": [bob.user_id]}, "m.relates_to": rel}
    await alice.send(room, _text("t2", **mention), "t2")
    await alice.send_ok(room, "main again", "m")
    counts = await _counts(homeserver, bob.user_id, room)
    assert counts == {
        "notification_count": 2,
        "highlight_count": 0,
        "unread_thread_notifications": {root: {"notification_count": 2, "highlight_count": 1}},
    }
    unthreaded = await homeserver.services.unread.unread_counts(bob.user_id, [room], threaded=False)
    assert unthreaded[room]["notification_count"] == 4
    assert unthreaded[room]["highlight_count"] == 1
    # A threaded receipt clears that thread up to it only.
    assert (
        await bob.client.post(_receipt_url(room, t1), json_body={"thread_id": root})
    ).status == 200
    counts = await _counts(homeserver, bob.user_id, room)
    assert counts["notification_count"] == 2
    assert counts["unread_thread_notifications"] == {
        root: {"notification_count": 1, "highlight_count": 1}
    }
    # An unthreaded receipt at the newest event clears everything.
    newest = await alice.send_ok(room, "newest", "n")
    assert (await bob.client.post(_receipt_url(room, newest), json_body={})).status == 200
    counts = await _counts(homeserver, bob.user_id, room)
    assert counts["notification_count"] == 0 and counts["unread_thread_notifications"] == {}


def _row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].startswith("sqlite_")
    ]
    return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


async def _rows(hs: TestHomeserver) -> dict[str, int]:
    return await hs.services.db.run_read(_row_counts)


async def test_message_costs_same_rows_in_big_and_small_room(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    svc = homeserver.services
    alice = await user(homeserver, "alice")
    small = await alice.create_room(preset="public_chat")
    # Two v12 createRoom calls by one user in the same millisecond get the same
    # room ID (the create event is all that names the room): step the clock.
    await trio.sleep(0.001)
    big = await alice.create_room(preset="public_chat")
    assert big != small
    bob = await user(homeserver, "bob")
    assert (await bob.join(small)).status == 200
    for i in range(999):
        member = f"@m{i}:localhost"
        join = LocalEvent(member, "m.room.member", {"membership": "join"}, member)
        assert (await svc.roomserver.send(big, join)).accepted
    members = await svc.rooms.joined_members(big)
    assert len(members) == 1000, [m for m in members if not m.startswith("@m")]
    assert len(await svc.rooms.joined_members(small)) == 2

    deltas = []
    for room, txn in ((small, "s"), (big, "b")):
        await homeserver.settle()  # the indexers have applied the joins
        before = await _rows(homeserver)
        await alice.send_ok(room, "hello everyone", txn)
        # Asking for counts (as /sync does) writes nothing either.
        await svc.unread.unread_counts(bob.user_id, [room])
        await svc.unread.unread_counts("@m5:localhost", [room])
        await homeserver.settle()
        after = await _rows(homeserver)
        deltas.append(
            {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}
        )
    assert deltas[0] == deltas[1]
    assert sum(deltas[1].values()) < 20
    counts = await svc.unread.unread_counts("@m5:localhost", [big])
    assert counts[big]["notification_count"] == 1
