"""POST /rooms/{roomId}/upgrade (modules/room_upgrades.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.history_helpers import V3, User, q, user
from trioserver.db.directory import get_alias_txn, room_visibility_txn
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def state(u: User, room_id: str, event_type: str, state_key: str = "") -> Any:
    response = await u.client.get(f"{V3}/rooms/{q(room_id)}/state/{q(event_type)}/{q(state_key)}")
    return response.status, response.json()


async def upgrade(u: User, room_id: str, body: dict[str, Any]) -> Any:
    return await u.post(f"/rooms/{q(room_id)}/upgrade", body)


@pytest.mark.parametrize(("old", "new"), [("10", "11"), ("11", "12"), ("12", "12"), ("12", "10")])
async def test_upgrade_end_to_end(homeserver: TestHomeserver, old: str, new: str) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await alice.create_room(
        preset="public_chat",
        room_version=old,
        name="Old name",
        topic="A topic",
        room_alias_name="upgrade-me",
        visibility="public",
        creation_content={"type": "m.space"},
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}},
            {"type": "m.room.encryption", "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
        ],
    )
    assert (await bob.join(room)).status == 200
    body: dict[str, Any] = {"new_version": new}
    if new == "12":
        body["additional_creators"] = [bob.user_id]
    response = await upgrade(alice, room, body)
    assert response.status == 200, response.json()
    new_room = response.json()["replacement_room"]
    assert new_room != room

    status, create = await state(alice, new_room, "m.room.create")
    assert status == 200
    assert create["room_version"] == new if "room_version" in create else True
    assert create["predecessor"]["room_id"] == room
    assert ("event_id" in create["predecessor"]) is (new != "12")
    assert create["type"] == "m.space"
    if new == "12":
        assert create["additional_creators"] == [bob.user_id]
    for event_type, key, value in [
        ("m.room.name", "name", "Old name"),
        ("m.room.topic", "topic", "A topic"),
        ("m.room.history_visibility", "history_visibility", "joined"),
        ("m.room.join_rules", "join_rule", "public"),
        ("m.room.encryption", "algorithm", "m.megolm.v1.aes-sha2"),
        ("m.room.canonical_alias", "alias", "#upgrade-me:localhost"),
    ]:
        status, content = await state(alice, new_room, event_type)
        assert (status, content.get(key)) == (200, value), event_type
    status, levels = await state(alice, new_room, "m.room.power_levels")
    if new == "12":
        assert alice.user_id not in levels["users"] and bob.user_id not in levels["users"]
    else:
        assert levels["users"].get(alice.user_id) == 100
    assert (await state(alice, new_room, "m.room.member", bob.user_id))[0] == 404

    status, tombstone = await state(alice, room, "m.room.tombstone")
    assert status == 200 and tombstone["replacement_room"] == new_room
    _, old_levels = await state(alice, room, "m.room.power_levels")
    assert old_levels["events_default"] >= 50 and old_levels["invite"] >= 50
    db = hs.services.db
    assert await db.run_read(get_alias_txn, "#upgrade-me:localhost") == new_room
    assert await db.run_read(room_visibility_txn, new_room) == "public"
    assert await db.run_read(room_visibility_txn, room) == "private"
    # Bob can follow the upgrade.
    assert (await bob.join(new_room)).status == 200


async def test_upgrade_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    eve = await user(hs, "eve")
    room = await alice.create_room(preset="public_chat", room_version="10")
    assert (await bob.join(room)).status == 200

    async def status(u: User, room_id: str, body: Any) -> tuple[int, str]:
        response = await upgrade(u, room_id, body)
        return response.status, response.json().get("errcode")

    assert await status(bob, room, {"new_version": "11"}) == (403, "M_FORBIDDEN")
    assert await status(eve, room, {"new_version": "11"}) == (403, "M_FORBIDDEN")
    assert await status(alice, room, {"new_version": "999"}) == (400, "M_UNSUPPORTED_ROOM_VERSION")
    assert await status(alice, room, {}) == (400, "M_MISSING_PARAM")
    assert await status(alice, room, {"new_version": 11}) == (400, "M_INVALID_PARAM")
    bad_creators = {"new_version": "12", "additional_creators": ["nope"]}
    assert await status(alice, room, bad_creators) == (400, "M_INVALID_PARAM")
    assert await status(alice, "!nope:localhost", {"new_version": "11"}) == (404, "M_NOT_FOUND")
    assert await status(alice, "bad", {"new_version": "11"}) == (400, "M_INVALID_PARAM")


async def test_bans_carry_over_to_the_new_room(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    mallory = await user(homeserver, "mallory")
    room = await alice.create_room(preset="public_chat")
    assert (await mallory.join(room)).status == 200
    ban = await alice.post(f"/rooms/{q(room)}/ban", {"user_id": mallory.user_id, "reason": "spam"})
    assert ban.status == 200, ban.json()
    response = await upgrade(alice, room, {"new_version": "12"})
    assert response.status == 200, response.json()
    new_room = response.json()["replacement_room"]
    status, member = await state(alice, new_room, "m.room.member", mallory.user_id)
    assert status == 200
    assert member == {"membership": "ban", "reason": "spam"}
    assert (await mallory.join(new_room)).status == 403


async def test_room_tags_follow_users_into_the_new_room(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    for who, tag in ((alice, "m.favourite"), (bob, "u.work")):
        tagged = await who.client.put(
            f"{V3}/user/{q(who.user_id)}/rooms/{q(room)}/tags/{q(tag)}",
            json_body={"order": 0.5},
        )
        assert tagged.status == 200
    response = await upgrade(alice, room, {"new_version": "12"})
    new_room = response.json()["replacement_room"]

    async def tags(who: User) -> Any:
        got = await who.client.get(f"{V3}/user/{q(who.user_id)}/rooms/{q(new_room)}/tags")
        return got.json()["tags"]

    assert await tags(alice) == {"m.favourite": {"order": 0.5}}
    assert await tags(bob) == {}
    assert (await bob.join(new_room)).status == 200
    assert await tags(bob) == {"u.work": {"order": 0.5}}
