"""``use_state_after`` on /sync (spec v1.16): ``state_after`` carries the
state up to the END of the timeline, and ``state`` is left out."""

from __future__ import annotations

import json
from typing import Any

from tests.api.rooms_helpers import V3, User, user
from trioserver.testing import TestHomeserver


async def sync(who: User, **params: str) -> Any:
    response = await who.client.get(f"{V3}/sync", query=params)
    assert response.status == 200, response.json()
    return response.json()


def state_of(room: dict[str, Any], section: str) -> dict[tuple[str, str], str]:
    return {
        (e["type"], e["state_key"]): e["content"].get("name", e["content"].get("topic", ""))
        for e in room[section]["events"]
    }


async def test_initial_and_incremental_state_after(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room_id = await alice.create_room(name="First")
    first = await sync(alice, use_state_after="true")
    room = first["rooms"]["join"][room_id]
    assert "state" not in room
    assert state_of(room, "state_after")[("m.room.name", "")] == "First"
    assert ("m.room.create", "") in state_of(room, "state_after")

    await alice.put_state(room_id, "m.room.name", {"name": "Second"})
    later = await sync(alice, use_state_after="true", since=first["next_batch"])
    room = later["rooms"]["join"][room_id]
    assert "state" not in room
    # The name change is in the timeline AND in state_after: clients update
    # their state from state_after alone.
    assert state_of(room, "state_after") == {("m.room.name", ""): "Second"}
    assert [e["type"] for e in room["timeline"]["events"]] == ["m.room.name"]

    plain = await sync(alice, since=first["next_batch"])
    assert plain["rooms"]["join"][room_id]["state"]["events"] == []
    assert "state_after" not in plain["rooms"]["join"][room_id]


async def test_a_gap_in_a_limited_timeline_is_in_state_after(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room_id = await alice.create_room()
    one = json.dumps({"room": {"timeline": {"limit": 2}}})
    first = await sync(alice, use_state_after="true", filter=one)
    await alice.put_state(room_id, "m.room.topic", {"topic": "gap"})
    for i in range(4):
        await alice.send_ok(room_id, f"m{i}", f"t{i}")
    later = await sync(alice, use_state_after="true", since=first["next_batch"], filter=one)
    room = later["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is True
    assert state_of(room, "state_after") == {("m.room.topic", ""): "gap"}
