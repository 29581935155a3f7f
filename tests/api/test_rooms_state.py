"""GET /rooms/{roomId}/state and GET/PUT /rooms/{roomId}/state/{eventType}/{stateKey}."""

from __future__ import annotations

from tests.api.rooms_helpers import R0, V3, err, q, user
from trioserver.testing import TestHomeserver


async def test_put_and_get_state(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    base = f"{V3}/rooms/{q(room)}/state"
    put = await alice.client.put(f"{base}/m.room.topic", json_body={"topic": "no slash"})
    assert put.status == 200 and put.json()["event_id"].startswith("$")
    assert (await alice.client.get(f"{base}/m.room.topic")).json() == {"topic": "no slash"}
    put = await alice.client.put(f"{base}/m.room.topic/", json_body={"topic": "slash"})
    assert put.status == 200
    assert (await alice.client.get(f"{base}/m.room.topic/")).json() == {"topic": "slash"}
    event = await alice.client.get(f"{base}/m.room.topic", query={"format": "event"})
    assert event.json()["type"] == "m.room.topic"
    assert event.json()["state_key"] == "" and event.json()["event_id"] == put.json()["event_id"]
    assert event.json()["room_id"] == room
    put = await alice.client.put(f"{base}/org.example/{q('a/b c')}", json_body={"v": 1})
    assert put.status == 200
    assert (await alice.client.get(f"{base}/org.example/{q('a/b c')}")).json() == {"v": 1}
    assert (await alice.client.get(f"{R0}/rooms/{q(room)}/state/org.example/a/b c")).json() == {
        "v": 1
    }
    everything = await alice.client.get(base)
    assert {(e["type"], e["state_key"]) for e in everything.json()} >= {
        ("m.room.create", ""),
        ("org.example", "a/b c"),
    }


async def test_state_errors(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room()
    base = f"{V3}/rooms/{q(room)}/state"
    assert err(await alice.client.get(f"{base}/m.room.name")) == (404, "M_NOT_FOUND")
    assert err(await alice.client.get(f"{base}/m.room.topic/nope")) == (404, "M_NOT_FOUND")
    assert err(await bob.client.get(base)) == (403, "M_FORBIDDEN")
    assert err(await bob.client.get(f"{base}/m.room.create")) == (403, "M_FORBIDDEN")
    assert err(await bob.client.put(f"{base}/m.room.topic", json_body={"topic": "x"})) == (
        403,
        "M_FORBIDDEN",
    )
    unknown = f"{V3}/rooms/{q('!nope:localhost')}/state"
    assert err(await alice.client.get(unknown)) == (403, "M_FORBIDDEN")
    assert err(await alice.client.put(f"{unknown}/m.room.topic", json_body={})) == (
        403,
        "M_FORBIDDEN",
    )
    assert err(await alice.client.get(f"{base}/m.room.create", query={"format": "x"})) == (
        400,
        "M_INVALID_PARAM",
    )
    assert err(await alice.client.put(f"{base}/m.room.topic", data=b"[]")) == (400, "M_NOT_JSON")
    assert err(await alice.client.put(f"{base}/m.room.topic", json_body={"x": 1.5})) == (
        400,
        "M_BAD_JSON",
    )
    assert err(await alice.client.put(f"{base}/m.room.topic", json_body={"x": 2**60})) == (
        400,
        "M_BAD_JSON",
    )
    big = {"topic": "x" * 70_000}
    assert err(await alice.client.put(f"{base}/m.room.topic", json_body=big)) == (
        413,
        "M_TOO_LARGE",
    )
    # Power: bob joins a public room but may not change the power levels.
    public = await alice.create_room(preset="public_chat")
    await bob.join(public)
    levels = f"{V3}/rooms/{q(public)}/state/m.room.power_levels"
    assert err(await bob.client.put(levels, json_body={})) == (403, "M_FORBIDDEN")


async def test_canonical_alias_checks(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room(room_alias_name="mine")
    other = await alice.create_room(room_alias_name="other")
    del other
    path = f"{V3}/rooms/{q(room)}/state/m.room.canonical_alias"
    ok = await alice.client.put(path, json_body={"alias": "#mine:localhost"})
    assert ok.status == 200
    assert err(await alice.client.put(path, json_body={"alias": "#other:localhost"})) == (
        400,
        "M_BAD_ALIAS",
    )
    assert err(await alice.client.put(path, json_body={"alias": "nope"})) == (
        400,
        "M_INVALID_PARAM",
    )
    remote = await alice.client.put(path, json_body={"alt_aliases": ["#x:elsewhere.example"]})
    assert remote.status == 200


async def test_former_member_sees_state_when_left(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat", name="before")
    await bob.join(room)
    await bob.post(f"/rooms/{q(room)}/leave")
    await alice.put_state(room, "m.room.name", {"name": "after"})
    name = await bob.client.get(f"{V3}/rooms/{q(room)}/state/m.room.name")
    assert name.json() == {"name": "before"}
