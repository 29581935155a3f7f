"""/sync: account data, device lists, history visibility, redactions,
ignored users, lazy-loading members, /keys/changes."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from tests.api.e2ee_helpers import new_device
from tests.api.rooms_helpers import V3, User, q, user
from tests.sync.sync_helpers import bodies, sync, timeline
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def test_account_data_once_per_change(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    first = await sync(alice)
    base = f"{V3}/user/{q(alice.user_id)}"
    await alice.client.put(f"{base}/account_data/x.global", json_body={"a": 1})
    await alice.client.put(f"{base}/rooms/{q(room)}/account_data/x.room", json_body={"b": 2})
    second = await sync(alice, first["next_batch"])
    assert second["account_data"]["events"] == [{"type": "x.global", "content": {"a": 1}}]
    room_data = second["rooms"]["join"][room]["account_data"]["events"]
    assert room_data == [{"type": "x.room", "content": {"b": 2}}]
    third = await sync(alice, second["next_batch"])
    assert third["account_data"]["events"] == []
    assert third["rooms"]["join"] == {}


async def test_redacted_and_ignored_and_hidden_history(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    carol = await user(homeserver, "carol")
    room = await alice.create_room(preset="public_chat")
    await alice.put_state(room, "m.room.history_visibility", {"history_visibility": "joined"})
    await alice.send_ok(room, "secret", "t0")
    await bob.join(room)
    await carol.join(room)
    start = await sync(bob)
    assert "secret" not in bodies(timeline(start, room))
    event_id = await alice.send_ok(room, "oops", "t1")
    await carol.send_ok(room, "annoying", "t2")
    redact = await alice.client.put(
        f"{V3}/rooms/{q(room)}/redact/{q(event_id)}/r1", json_body={"reason": "x"}
    )
    assert redact.status == 200, redact.json()
    await bob.client.put(
        f"{V3}/user/{q(bob.user_id)}/account_data/m.ignored_user_list",
        json_body={"ignored_users": {carol.user_id: {}}},
    )
    later = await sync(bob, start["next_batch"])
    events = timeline(later, room)
    redacted = next(e for e in events if e["event_id"] == event_id)
    assert redacted["content"] == {}
    assert "redacted_because" in redacted["unsigned"]
    assert not any(e["sender"] == carol.user_id for e in events if "state_key" not in e)


async def test_lazy_loading_members(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    carol = await user(homeserver, "carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    for i in range(15):
        await alice.send_ok(room, f"m{i}", f"t{i}")
    lazy = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 3}}}
    body = await sync(bob, filter_=lazy)
    members = {
        e["state_key"]
        for e in body["rooms"]["join"][room]["state"]["events"]
        if e["type"] == "m.room.member"
    }
    assert members == {alice.user_id, bob.user_id}
    await carol.send_ok(room, "hi", "c1")
    await alice.send_ok(room, "again", "t99")
    later = await sync(bob, body["next_batch"], filter_=lazy)
    state = later["rooms"]["join"][room]["state"]["events"]
    assert {e["state_key"] for e in state if e["type"] == "m.room.member"} == {carol.user_id}
    redundant = {"room": {"state": {"lazy_load_members": True, "include_redundant_members": True}}}
    await alice.send_ok(room, "more", "t100")
    full = await sync(bob, later["next_batch"], filter_=redundant)
    state = full["rooms"]["join"][room]["state"]["events"]
    assert alice.user_id in {e["state_key"] for e in state if e["type"] == "m.room.member"}


async def test_device_lists_on_key_upload_and_leave(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    device = await new_device(homeserver, "bob")
    bob = User(device.user_id, device.client(), device.device_id)
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    start = await sync(alice)
    got: dict[str, Any] = {}

    async def poll() -> None:
        got.update(await sync(alice, start["next_batch"], timeout_ms=60_000))

    before = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll)
        await trio.sleep(1)
        uploaded = await device.upload(
            device_keys=device.device_keys(), one_time_keys=device.one_time_keys(2)
        )
        assert uploaded.status == 200, uploaded.json()
    assert trio.current_time() - before < 30
    assert got["device_lists"]["changed"] == [bob.user_id]
    bob_sync = await sync(bob)
    assert bob_sync["device_one_time_keys_count"]["signed_curve25519"] == 2
    changes = await alice.client.get(
        f"{V3}/keys/changes", query={"from": start["next_batch"], "to": got["next_batch"]}
    )
    assert changes.json() == {"changed": [bob.user_id], "left": []}
    await bob.post(f"/rooms/{q(room)}/leave")
    left = await sync(alice, got["next_batch"])
    assert left["device_lists"]["left"] == [bob.user_id]
    bad = await alice.client.get(f"{V3}/keys/changes", query={"from": "x", "to": "y"})
    assert bad.status == 400


async def test_a_deleted_device_wakes_the_users_watching_its_owner(
    homeserver: TestHomeserver,
) -> None:
    alice = await user(homeserver, "alice")
    device = await new_device(homeserver, "bob")
    bob = User(device.user_id, device.client(), device.device_id)
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    start = await sync(alice)
    got: dict[str, Any] = {}

    async def poll() -> None:
        got.update(await sync(alice, start["next_batch"], timeout_ms=60_000))

    before = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll)
        await trio.sleep(1)
        logout = await bob.client.post(f"{V3}/logout", json_body={})
        assert logout.status == 200
    assert trio.current_time() - before < 30  # woken by the deletion, not the timeout
    assert got["device_lists"]["changed"] == [bob.user_id]
