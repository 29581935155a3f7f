"""POST /createRoom."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.rooms_helpers import R0, V3, User, err, q, user
from trioserver.testing import TestHomeserver


async def state_of(u: User, room_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    response = await u.client.get(f"{V3}/rooms/{q(room_id)}/state")
    assert response.status == 200, response.json()
    return {(e["type"], e["state_key"]): e for e in response.json()}


@pytest.mark.parametrize("version", [str(n) for n in range(1, 13)])
async def test_every_room_version(homeserver: TestHomeserver, version: str) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(room_version=version, name="N", invite=[bob.user_id])
    state = await state_of(alice, room)
    create = state[("m.room.create", "")]
    assert create["content"]["room_version"] == version
    assert create["room_id"] == room
    levels = state[("m.room.power_levels", "")]["content"]
    if int(version) <= 10:
        assert create["content"]["creator"] == alice.user_id
    else:
        assert "creator" not in create["content"]
    if int(version) >= 12:
        assert alice.user_id not in levels["users"]
        assert levels["events"]["m.room.tombstone"] > levels["state_default"]
    else:
        assert levels["users"] == {alice.user_id: 100}
    assert state[("m.room.member", bob.user_id)]["content"]["membership"] == "invite"
    assert (await bob.join(room)).status == 200
    assert (await bob.send(room, {"body": "x", "msgtype": "m.text"}, "t")).status == 200


async def test_presets_and_order(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(
        preset="public_chat",
        topic="About",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}},
            {"type": "m.room.name", "content": {"name": "overridden"}},
            {"type": "org.example.s", "state_key": "k", "content": {"a": 1}},
        ],
        name="Final",
        power_level_content_override={"invite": 50},
    )
    state = await state_of(alice, room)
    assert state[("m.room.join_rules", "")]["content"] == {"join_rule": "public"}
    assert state[("m.room.guest_access", "")]["content"] == {"guest_access": "forbidden"}
    assert state[("m.room.history_visibility", "")]["content"] == {"history_visibility": "joined"}
    assert state[("m.room.name", "")]["content"] == {"name": "Final"}
    assert state[("m.room.topic", "")]["content"]["topic"] == "About"
    assert (
        state[("m.room.topic", "")]["content"]["m.topic"]["m.text"][0]["mimetype"] == "text/plain"
    )
    assert state[("org.example.s", "k")]["content"] == {"a": 1}
    assert state[("m.room.power_levels", "")]["content"]["invite"] == 50
    # Public: anyone may join.
    assert (await bob.join(room)).status == 200


async def test_private_default_and_trusted(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    private = await alice.create_room()
    state = await state_of(alice, private)
    assert state[("m.room.join_rules", "")]["content"] == {"join_rule": "invite"}
    assert state[("m.room.guest_access", "")]["content"] == {"guest_access": "can_join"}
    assert state[("m.room.history_visibility", "")]["content"] == {"history_visibility": "shared"}
    assert err(await bob.join(private)) == (403, "M_FORBIDDEN")

    trusted10 = await alice.create_room(
        preset="trusted_private_chat", invite=[bob.user_id], room_version="10", is_direct=True
    )
    state = await state_of(alice, trusted10)
    assert state[("m.room.power_levels", "")]["content"]["users"][bob.user_id] == 100
    invite = state[("m.room.member", bob.user_id)]["content"]
    assert invite["membership"] == "invite" and invite["is_direct"] is True
    trusted12 = await alice.create_room(preset="trusted_private_chat", invite=[bob.user_id])
    state = await state_of(alice, trusted12)
    assert state[("m.room.create", "")]["content"]["additional_creators"] == [bob.user_id]
    assert bob.user_id not in state[("m.room.power_levels", "")]["content"]["users"]


async def test_alias_and_public_visibility(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room(room_alias_name="pub", visibility="public")
    state = await state_of(alice, room)
    assert state[("m.room.canonical_alias", "")]["content"] == {"alias": "#pub:localhost"}
    taken = await alice.client.post(f"{V3}/createRoom", json_body={"room_alias_name": "pub"})
    assert err(taken) == (400, "M_ROOM_IN_USE")
    resolved = await alice.client.post(f"{V3}/join/{q('#pub:localhost')}", json_body={})
    assert resolved.json() == {"room_id": room}


async def test_r0_prefix_and_creation_content(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    response = await alice.client.post(
        f"{R0}/createRoom",
        json_body={
            "creation_content": {"m.federate": False, "room_version": "1", "creator": "@x:y"}
        },
    )
    assert response.status == 200
    state = await state_of(alice, response.json()["room_id"])
    content = state[("m.room.create", "")]["content"]
    assert content["m.federate"] is False and content["room_version"] == "12"
    assert "creator" not in content


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"room_version": "99"}, (400, "M_UNSUPPORTED_ROOM_VERSION")),
        ({"room_version": 12}, (400, "M_INVALID_PARAM")),
        ({"preset": "nope"}, (400, "M_INVALID_PARAM")),
        ({"visibility": "secret"}, (400, "M_INVALID_PARAM")),
        ({"invite": ["not-a-user"]}, (400, "M_INVALID_PARAM")),
        ({"invite": "@a:localhost"}, (400, "M_INVALID_PARAM")),
        ({"invite": ["@a:elsewhere.example"]}, (403, "M_FORBIDDEN")),
        ({"name": 5}, (400, "M_INVALID_PARAM")),
        ({"is_direct": "yes"}, (400, "M_INVALID_PARAM")),
        ({"room_alias_name": "a b"}, (400, "M_INVALID_PARAM")),
        ({"room_alias_name": "a:b"}, (400, "M_INVALID_PARAM")),
        ({"initial_state": [{"type": "x"}]}, (400, "M_INVALID_PARAM")),
        ({"initial_state": {"type": "x"}}, (400, "M_INVALID_PARAM")),
        (
            {"initial_state": [{"type": "m.room.create", "content": {}}]},
            (400, "M_INVALID_ROOM_STATE"),
        ),
        ({"creation_content": []}, (400, "M_INVALID_PARAM")),
        ({"creation_content": {"x": 1.5}}, (400, "M_BAD_JSON")),
        (
            {"room_version": "10", "power_level_content_override": {"state_default": 200}},
            (400, "M_INVALID_ROOM_STATE"),
        ),
        ({"invite_3pid": [{"medium": "email"}]}, (400, "M_INVALID_PARAM")),
    ],
)
async def test_bad_requests(
    homeserver: TestHomeserver, body: dict[str, Any], expected: tuple[int, str]
) -> None:
    alice = await user(homeserver, "alice")
    response = await alice.client.post(f"{V3}/createRoom", json_body=body)
    assert err(response) == expected


async def test_not_json_and_no_token(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    response = await alice.client.post(f"{V3}/createRoom", data=b"{nope")
    assert err(response) == (400, "M_NOT_JSON")
    assert err(await homeserver.client().post(f"{V3}/createRoom", json_body={})) == (
        401,
        "M_MISSING_TOKEN",
    )
