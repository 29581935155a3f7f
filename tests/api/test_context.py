"""GET /rooms/{roomId}/context/{eventId} (spec: modules/event_context.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.history_helpers import V3, User, messages, q, send_event, send_many, user
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def context(u: User, room_id: str, event_id: str, **params: Any) -> Any:
    import json

    query = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in params.items()}
    return await u.client.get(f"{V3}/rooms/{q(room_id)}/context/{q(event_id)}", query=query)


async def test_context_around_an_event(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await alice.create_room(preset="public_chat", name="Room")
    ids = await send_many(hs, room, alice.user_id, 20)
    response = await context(alice, room, ids[10], limit=6)
    assert response.status == 200, response.json()
    body = response.json()
    assert body["event"]["event_id"] == ids[10]
    assert [e["event_id"] for e in body["events_before"]] == [ids[9], ids[8], ids[7]]
    assert [e["event_id"] for e in body["events_after"]] == [ids[11], ids[12], ids[13]]
    state_types = {e["type"] for e in body["state"]}
    assert {"m.room.create", "m.room.member", "m.room.name", "m.room.power_levels"} <= state_types
    # The tokens continue with /messages without gaps.
    back = (await messages(alice, room, dir="b", limit=2, **{"from": body["start"]})).json()
    assert [e["event_id"] for e in back["chunk"]] == [ids[6], ids[5]]
    forward = (await messages(alice, room, dir="f", limit=2, **{"from": body["end"]})).json()
    assert [e["event_id"] for e in forward["chunk"]] == [ids[14], ids[15]]
    # limit 0: just the event.
    zero = (await context(alice, room, ids[10], limit=0)).json()
    assert zero["events_before"] == [] and zero["events_after"] == []
    assert zero["event"]["event_id"] == ids[10]
    # Default limit 10: 5 before, 5 after.
    default = (await context(alice, room, ids[10])).json()
    assert len(default["events_before"]) == 5 and len(default["events_after"]) == 5


async def test_context_filter_and_lazy_members(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    carol = await user(hs, "carol")
    room = await alice.create_room(preset="public_chat")
    for u in (bob, carol):
        assert (await u.join(room)).status == 200
    await send_event(hs, room, bob.user_id, {"msgtype": "m.text", "body": "b"})
    target = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "a"})
    await send_event(hs, room, alice.user_id, {"key": "x"}, "m.reaction")
    body = (
        await context(
            alice,
            room,
            target,
            limit=4,
            filter={"types": ["m.room.message", "m.room.member"], "lazy_load_members": True},
        )
    ).json()
    assert [e["type"] for e in body["events_after"]] == []
    assert [e["content"].get("body") for e in body["events_before"]][:1] == ["b"]
    members = {e["state_key"] for e in body["state"] if e["type"] == "m.room.member"}
    assert alice.user_id in members and bob.user_id in members
    assert all(e["type"] in ("m.room.message", "m.room.member") for e in body["state"])


async def test_context_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await alice.create_room(
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
        ],
    )
    hidden = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "x"})
    other = await alice.create_room()
    assert (await context(bob, room, hidden)).status == 404  # not in the room
    assert (await bob.join(room)).status == 200
    response = await context(bob, room, hidden)  # before bob joined, history "joined"
    assert (response.status, response.json()["errcode"]) == (404, "M_NOT_FOUND")
    assert (await context(alice, other, hidden)).status == 404  # event of another room
    assert (await context(alice, room, "$unknown:localhost")).status == 404
    assert (await context(alice, "!nope:localhost", hidden)).status == 404
    for params in ({"limit": "x"}, {"limit": "-3"}, {"filter": "{bad"}):
        response = await context(alice, room, hidden, **params)
        assert (response.status, response.json()["errcode"]) == (400, "M_INVALID_PARAM")
    assert (await context(alice, room, "not-an-event")).status == 400
