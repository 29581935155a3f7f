"""/sync: initial and incremental room sections, limited and prev_batch,
newly joined rooms, leaves, bans, duplicate joins, invites."""

from __future__ import annotations

import pytest

from tests.api.rooms_helpers import V3, q, user
from tests.sync.sync_helpers import bodies, sync, sync_raw, timeline
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def test_initial_and_incremental(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room(name="Room")
    await alice.send_ok(room, "one", "t1")
    first = await sync(alice)
    joined = first["rooms"]["join"][room]
    types = {e["type"] for e in joined["state"]["events"]} | {
        e["type"] for e in joined["timeline"]["events"]
    }
    assert {"m.room.create", "m.room.member", "m.room.name"} <= types
    assert bodies(timeline(first, room)) == ["one"]
    assert joined["summary"]["m.joined_member_count"] == 1
    assert "room_id" not in timeline(first, room)[0]
    assert timeline(first, room)[-1]["unsigned"]["transaction_id"] == "t1"
    # nothing new: empty at once
    again = await sync(alice, first["next_batch"])
    assert again["rooms"]["join"] == {}
    await alice.send_ok(room, "two", "t2")
    second = await sync(alice, first["next_batch"])
    assert bodies(timeline(second, room)) == ["two"]
    assert second["rooms"]["join"][room]["timeline"]["limited"] is False
    assert second["rooms"]["join"][room]["state"]["events"] == []


async def test_limited_and_prev_batch_pagination(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    first = await sync(alice)
    for i in range(12):
        await alice.send_ok(room, f"m{i}", f"t{i}")
    second = await sync(alice, first["next_batch"], filter_={"room": {"timeline": {"limit": 5}}})
    entry = second["rooms"]["join"][room]
    assert bodies(entry["timeline"]["events"]) == [f"m{i}" for i in range(7, 12)]
    assert entry["timeline"]["limited"] is True
    back = await alice.client.get(
        f"{V3}/rooms/{q(room)}/messages",
        query={"dir": "b", "from": entry["timeline"]["prev_batch"], "limit": "7"},
    )
    assert back.status == 200, back.json()
    assert bodies(back.json()["chunk"]) == [f"m{i}" for i in range(6, -1, -1)]


async def test_newly_joined_room_gets_full_state_and_duplicate_join_does_not(
    homeserver: TestHomeserver,
) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat", name="Pub")
    await alice.send_ok(room, "before", "t1")
    start = await sync(bob)
    assert room not in start["rooms"]["join"]
    assert (await bob.join(room)).status == 200
    after = await sync(bob, start["next_batch"])
    entry = after["rooms"]["join"][room]
    assert entry["timeline"]["limited"] is True
    state_types = {e["type"] for e in entry["state"]["events"]}
    assert {"m.room.create", "m.room.name", "m.room.power_levels"} <= state_types
    assert alice.user_id in after["device_lists"]["changed"]
    # a duplicate join is not a new join
    assert (await bob.join(room)).status == 200
    dup = await sync(bob, after["next_batch"])
    if room in dup["rooms"]["join"]:
        dup_entry = dup["rooms"]["join"][room]
        assert dup_entry["timeline"]["limited"] is False
        assert {e["type"] for e in dup_entry["state"]["events"]} <= {"m.room.member"}


async def test_leave_and_ban_move_room_to_leave(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    start = await sync(bob)
    await alice.send_ok(room, "bye soon", "t1")
    await alice.post(f"/rooms/{q(room)}/ban", {"user_id": bob.user_id})
    await alice.send_ok(room, "after ban", "t2")
    after = await sync(bob, start["next_batch"])
    assert room not in after["rooms"]["join"]
    events = timeline(after, room, "leave")
    assert bodies(events) == ["bye soon"]
    assert events[-1]["type"] == "m.room.member"
    assert events[-1]["content"]["membership"] == "ban"
    # initial sync: only with include_leave
    assert room not in (await sync(bob))["rooms"]["leave"]
    with_leave = await sync(bob, filter_={"room": {"include_leave": True}})
    assert room in with_leave["rooms"]["leave"]


async def test_invite_has_stripped_state(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(name="Secret")
    start = await sync(bob)
    await alice.invite(room, bob.user_id)
    after = await sync(bob, start["next_batch"])
    stripped = after["rooms"]["invite"][room]["invite_state"]["events"]
    by_type = {(e["type"], e["state_key"]) for e in stripped}
    assert ("m.room.name", "") in by_type
    assert ("m.room.create", "") in by_type
    assert ("m.room.member", bob.user_id) in by_type
    assert ("m.room.member", alice.user_id) in by_type
    assert all(set(e) == {"type", "state_key", "content", "sender"} for e in stripped)
    initial = await sync(bob)
    assert room in initial["rooms"]["invite"]


async def test_bad_tokens_never_500(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    for token in ("garbage", "s", "s1_2_3_4_5_6_7_8_9", "s99999999_0_0_0_0_0_0_0"):
        response = await sync_raw(alice, token)
        assert response.status in (200, 400), (token, response.json())
    assert (await sync_raw(alice, "garbage")).json()["errcode"] == "M_INVALID_PARAM"
    assert (await sync_raw(alice, "s1")).status == 200
