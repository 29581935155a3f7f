"""Receipts and read markers: the endpoints, the stream, ``receipts_for_sync``."""

from __future__ import annotations

from typing import Any

from tests.api.rooms_helpers import V3, User, err, q, user
from trioserver.accounts import account_data
from trioserver.testing import TestHomeserver


def _receipt_url(room: str, receipt_type: str, event_id: str) -> str:
    return f"{V3}/rooms/{q(room)}/receipt/{q(receipt_type)}/{q(event_id)}"


async def _setup(hs: TestHomeserver) -> tuple[User, User, str, list[str]]:
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    events = [await alice.send_ok(room, f"m{i}", f"t{i}") for i in range(3)]
    return alice, bob, room, events


async def test_receipts_for_sync(homeserver: TestHomeserver) -> None:
    alice, bob, room, events = await _setup(homeserver)
    receipts = homeserver.services.receipts
    notifier = homeserver.services.notifier
    start = receipts.position
    alice_wake, bob_wake = notifier.wake_up(alice.user_id), notifier.wake_up(bob.user_id)

    response = await bob.client.post(_receipt_url(room, "m.read", events[1]), json_body={})
    assert (response.status, response.json()) == (200, {})
    assert receipts.position == start + 1 == notifier.current_token().receipts
    assert alice_wake.is_set() and bob_wake.is_set()
    ts = homeserver.services.clock.time_ms()

    alice_wake = notifier.wake_up(alice.user_id)
    private = await bob.client.post(_receipt_url(room, "m.read.private", events[2]), json_body={})
    assert private.status == 200
    assert not alice_wake.is_set()  # a private receipt wakes its owner only

    for_alice = await receipts.receipts_for_sync(alice.user_id, [room], start, receipts.position)
    content: dict[str, Any] = for_alice[room]["content"]
    assert for_alice[room]["type"] == "m.receipt"
    assert list(content) == [events[1]]
    assert abs(content[events[1]]["m.read"][bob.user_id]["ts"] - ts) < 5000
    for_bob = await receipts.receipts_for_sync(bob.user_id, [room], start, receipts.position)
    assert set(for_bob[room]["content"]) == {events[1], events[2]}
    assert bob.user_id in for_bob[room]["content"][events[2]]["m.read.private"]
    # Ranges: nothing after the end; only the changed part of the range.
    pos = receipts.position
    assert await receipts.receipts_for_sync(bob.user_id, [room], pos, pos) == {}
    only_private = await receipts.receipts_for_sync(bob.user_id, [room], start + 1, pos)
    assert list(only_private[room]["content"]) == [events[2]]
    assert await receipts.receipts_for_sync(bob.user_id, ["!other:localhost"], 0, pos) == {}

    # Backwards receipts are ignored; a repeat does not move the stream.
    assert (
        await bob.client.post(_receipt_url(room, "m.read", events[0]), json_body={})
    ).status == 200
    assert (
        await bob.client.post(_receipt_url(room, "m.read", events[1]), json_body={})
    ).status == 200
    assert receipts.position == pos


async def test_threaded_receipts(homeserver: TestHomeserver) -> None:
    alice, bob, room, events = await _setup(homeserver)
    root = events[0]
    reply = await alice.send(
        room,
        {
            "msgtype": "m.text",
            "body": "in thread",
            "m.relates_to": {"rel_type": "m.thread", "event_id": root},
        },
        "thread1",
    )
    in_thread = reply.json()["event_id"]
    receipts = homeserver.services.receipts
    start = receipts.position
    ok = await bob.client.post(
        _receipt_url(room, "m.read", in_thread), json_body={"thread_id": root}
    )
    assert ok.status == 200
    ok_main = await bob.client.post(
        _receipt_url(room, "m.read", events[2]), json_body={"thread_id": "main"}
    )
    assert ok_main.status == 200
    got = await receipts.receipts_for_sync(alice.user_id, [room], start, receipts.position)
    content = got[room]["content"]
    assert content[in_thread]["m.read"][bob.user_id]["thread_id"] == root
    assert content[events[2]]["m.read"][bob.user_id]["thread_id"] == "main"
    # The event must be in the thread named.
    assert err(
        await bob.client.post(
            _receipt_url(room, "m.read", in_thread), json_body={"thread_id": "main"}
        )
    ) == (400, "M_INVALID_PARAM")
    assert err(
        await bob.client.post(
            _receipt_url(room, "m.read", events[2]), json_body={"thread_id": root}
        )
    ) == (400, "M_INVALID_PARAM")
    for bad in ({"thread_id": ""}, {"thread_id": 5}, {"thread_id": "side"}):
        assert err(
            await bob.client.post(_receipt_url(room, "m.read", events[2]), json_body=bad)
        ) == (
            400,
            "M_INVALID_PARAM",
        )
    fully = await bob.client.post(
        _receipt_url(room, "m.fully_read", events[2]), json_body={"thread_id": "main"}
    )
    assert err(fully) == (400, "M_INVALID_PARAM")


async def test_receipt_errors(homeserver: TestHomeserver) -> None:
    alice, bob, room, events = await _setup(homeserver)
    carol = await user(homeserver, "carol")
    assert err(await carol.client.post(_receipt_url(room, "m.read", events[0]), json_body={})) == (
        403,
        "M_FORBIDDEN",
    )
    assert err(
        await bob.client.post(_receipt_url("!unknown:localhost", "m.read", events[0]), json_body={})
    ) == (404, "M_NOT_FOUND")
    assert err(await bob.client.post(_receipt_url(room, "m.read", "$nope"), json_body={})) == (
        404,
        "M_NOT_FOUND",
    )
    other_room = await alice.create_room()
    other_event = await alice.send_ok(other_room, "elsewhere", "x")
    assert err(await bob.client.post(_receipt_url(room, "m.read", other_event), json_body={})) == (
        404,
        "M_NOT_FOUND",
    )
    assert (
        err(await bob.client.post(_receipt_url(room, "m.bogus", events[0]), json_body={}))[0] == 400
    )
    assert (
        err(await bob.client.post(_receipt_url(room, "m.read", "notanid"), json_body={}))[0] == 400
    )
    assert (
        err(await bob.client.post(_receipt_url("room", "m.read", events[0]), json_body={}))[0]
        == 400
    )
    # An empty body is accepted (older clients send none).
    assert (await bob.client.post(_receipt_url(room, "m.read", events[0]), data=b"")).status == 200


async def test_read_markers(homeserver: TestHomeserver) -> None:
    _alice, bob, room, events = await _setup(homeserver)
    changes: list[tuple[str, int]] = []

    async def on_change(user_id: str, position: int) -> None:
        changes.append((user_id, position))

    homeserver.services.hooks.account_data_changed = on_change
    url = f"{V3}/rooms/{q(room)}/read_markers"
    receipts = homeserver.services.receipts
    start = receipts.position
    body = {"m.fully_read": events[1], "m.read": events[2], "m.read.private": events[2]}
    assert (await bob.client.post(url, json_body=body)).status == 200
    stored = await account_data.get(homeserver.services.db, bob.user_id, room, "m.fully_read")
    assert stored == {"event_id": events[1]}
    assert [u for u, _ in changes] == [bob.user_id]
    got = await receipts.receipts_for_sync(bob.user_id, [room], start, receipts.position)
    assert set(got[room]["content"][events[2]]) == {"m.read", "m.read.private"}
    # m.fully_read through the receipt endpoint sets the same account data.
    assert (
        await bob.client.post(_receipt_url(room, "m.fully_read", events[2]), json_body={})
    ).status == 200
    stored = await account_data.get(homeserver.services.db, bob.user_id, room, "m.fully_read")
    assert stored == {"event_id": events[2]}
    # Errors: nothing stored when one event is unknown.
    bad = await bob.client.post(url, json_body={"m.fully_read": events[0], "m.read": "$nope"})
    assert err(bad) == (404, "M_NOT_FOUND")
    stored = await account_data.get(homeserver.services.db, bob.user_id, room, "m.fully_read")
    assert stored == {"event_id": events[2]}
    assert err(await bob.client.post(url, json_body={"m.read": 5}))[0] == 400
    carol = await user(homeserver, "carol")
    assert err(await carol.client.post(url, json_body={"m.read": events[0]})) == (
        403,
        "M_FORBIDDEN",
    )
    assert err(await bob.client.post(url, data=b"not json")) == (400, "M_NOT_JSON")
