"""POST/GET /user/{userId}/filter and filters applied in /sync."""

from __future__ import annotations

import pytest

from tests.api.rooms_helpers import V3, q, user
from tests.sync.sync_helpers import bodies, sync, sync_raw, timeline
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def test_filter_api(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    definition = {"room": {"timeline": {"limit": 1, "types": ["m.room.message"]}}}
    created = await alice.client.post(f"{V3}/user/{q(alice.user_id)}/filter", json_body=definition)
    assert created.status == 200
    filter_id = created.json()["filter_id"]
    got = await alice.client.get(f"{V3}/user/{q(alice.user_id)}/filter/{filter_id}")
    assert got.json() == definition
    other = await bob.client.get(f"{V3}/user/{q(alice.user_id)}/filter/{filter_id}")
    assert other.status == 403
    mine = await bob.client.get(f"{V3}/user/{q(bob.user_id)}/filter/{filter_id}")
    assert mine.status == 404
    assert (await alice.client.get(f"{V3}/user/{q(alice.user_id)}/filter/nope")).status == 404
    bad = await alice.client.post(
        f"{V3}/user/{q(alice.user_id)}/filter", json_body={"room": {"timeline": {"limit": "x"}}}
    )
    assert (bad.status, bad.json()["errcode"]) == (400, "M_INVALID_PARAM")
    room = await alice.create_room()
    await alice.send_ok(room, "a", "t1")
    await alice.send_ok(room, "b", "t2")
    body = await sync(alice, filter_=filter_id)
    assert bodies(timeline(body, room)) == ["b"]
    assert body["rooms"]["join"][room]["timeline"]["limited"] is True
    assert (await sync_raw(alice, filter_="12345")).status == 400
    assert (await sync_raw(alice, filter_="{bad json")).status == 400


async def test_sync_filter_sections(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    other = await alice.create_room()
    await alice.send_ok(room, "hello", "t1")
    body = await sync(
        alice,
        filter_={
            "room": {
                "not_rooms": [other],
                "state": {"types": ["m.room.create"]},
                "timeline": {"limit": 1},
            },
            "event_fields": ["type", "content.body"],
        },
    )
    assert other not in body["rooms"]["join"]
    entry = body["rooms"]["join"][room]
    assert {e["type"] for e in entry["state"]["events"]} == {"m.room.create"}
    message = next(e for e in entry["timeline"]["events"] if e["type"] == "m.room.message")
    assert message == {"type": "m.room.message", "content": {"body": "hello"}}
    federation = await sync(alice, filter_={"event_format": "federation"})
    event = timeline(federation, room)[-1]
    assert "prev_events" in event and "room_id" in event
