"""GET /rooms/{roomId}/hierarchy: the rooms of a space tree a user may see."""

from __future__ import annotations

from typing import Any

from tests.api.rooms_helpers import User, err, q, user
from trioserver.testing import TestHomeserver

V1 = "/_matrix/client/v1"


async def space(owner: User, name: str) -> str:
    return await owner.create_room(
        preset="public_chat", name=name, creation_content={"type": "m.space"}
    )


async def add_child(owner: User, parent: str, child: str, **content: Any) -> None:
    response = await owner.put_state(
        parent, "m.space.child", {"via": ["localhost"], **content}, state_key=child
    )
    assert response.status == 200, response.json()


async def get(who: User, room_id: str, **params: str) -> Any:
    response = await who.client.get(f"{V1}/rooms/{q(room_id)}/hierarchy", query=params)
    return response


async def tree(hs: TestHomeserver) -> tuple[User, User, dict[str, str]]:
    """root -> [sub (space) -> [deep], lobby (suggested), secret (private)]"""
    alice, bob = await user(hs, "alice"), await user(hs, "bob")
    rooms = {
        "root": await space(alice, "Root"),
        "sub": await space(alice, "Sub"),
        "lobby": await alice.create_room(preset="public_chat", name="Lobby"),
        "deep": await alice.create_room(preset="public_chat", name="Deep"),
        "secret": await alice.create_room(preset="private_chat", name="Secret"),
    }
    await add_child(alice, rooms["root"], rooms["lobby"], suggested=True, order="b")
    await add_child(alice, rooms["root"], rooms["sub"], order="a")
    await add_child(alice, rooms["root"], rooms["secret"], order="c")
    await add_child(alice, rooms["sub"], rooms["deep"])
    await add_child(alice, rooms["sub"], rooms["root"])  # a loop
    return alice, bob, rooms


def names(answer: dict[str, Any]) -> list[str]:
    return [room.get("name") for room in answer["rooms"]]


async def test_the_tree_depth_first_in_the_spec_order(homeserver: TestHomeserver) -> None:
    alice, bob, rooms = await tree(homeserver)
    response = await get(alice, rooms["root"])
    assert response.status == 200, response.json()
    body = response.json()
    assert names(body) == ["Root", "Sub", "Deep", "Lobby", "Secret"]
    assert "next_batch" not in body
    root = body["rooms"][0]
    assert root["room_type"] == "m.space"
    assert root["num_joined_members"] == 1
    assert [c["state_key"] for c in root["children_state"]] == [
        rooms["sub"],
        rooms["lobby"],
        rooms["secret"],
    ]
    child = root["children_state"][0]
    assert child["type"] == "m.space.child"
    assert child["content"] == {"via": ["localhost"], "order": "a"}
    assert child["sender"] == alice.user_id
    assert isinstance(child["origin_server_ts"], int)
    # Bob is in none of them: the private room is left out for him.
    assert names((await get(bob, rooms["root"])).json()) == ["Root", "Sub", "Deep", "Lobby"]


async def test_suggested_only_and_max_depth(homeserver: TestHomeserver) -> None:
    alice, _, rooms = await tree(homeserver)
    suggested = (await get(alice, rooms["root"], suggested_only="true")).json()
    assert names(suggested) == ["Root", "Lobby"]
    assert [c["state_key"] for c in suggested["rooms"][0]["children_state"]] == [rooms["lobby"]]
    shallow = (await get(alice, rooms["root"], max_depth="1")).json()
    assert names(shallow) == ["Root", "Sub", "Lobby", "Secret"]
    only_root = (await get(alice, rooms["root"], max_depth="0")).json()
    assert names(only_root) == ["Root"]


async def test_pages_of_one_room_cover_the_tree_once(homeserver: TestHomeserver) -> None:
    alice, _, rooms = await tree(homeserver)
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        params = {"limit": "1"} if token is None else {"limit": "1", "from": token}
        body = (await get(alice, rooms["root"], **params)).json()
        seen.extend(names(body))
        token = body.get("next_batch")
        if token is None:
            break
    assert seen == ["Root", "Sub", "Deep", "Lobby", "Secret"]


async def test_a_child_without_via_is_not_listed(homeserver: TestHomeserver) -> None:
    alice, _, rooms = await tree(homeserver)
    response = await alice.put_state(rooms["root"], "m.space.child", {}, state_key=rooms["sub"])
    assert response.status == 200
    assert names((await get(alice, rooms["root"])).json()) == ["Root", "Lobby", "Secret"]


async def test_errors(homeserver: TestHomeserver) -> None:
    alice, bob, rooms = await tree(homeserver)
    assert err(await get(bob, rooms["secret"])) == (403, "M_FORBIDDEN")
    assert err(await get(alice, "!nowhere:localhost")) == (404, "M_NOT_FOUND")
    assert err(await get(alice, "not-a-room")) == (400, "M_INVALID_PARAM")
    for params in ({"limit": "0"}, {"limit": "x"}, {"max_depth": "-1"}, {"from": "garbage!"}):
        assert err(await get(alice, rooms["root"], **params)) == (400, "M_INVALID_PARAM"), params
    first = (await get(alice, rooms["root"], limit="1")).json()
    token = {"from": first["next_batch"]}
    changed = await get(alice, rooms["root"], limit="1", max_depth="2", **token)
    assert err(changed) == (400, "M_INVALID_PARAM")
    other_root = await get(alice, rooms["sub"], **{"from": first["next_batch"]})
    assert err(other_root) == (400, "M_INVALID_PARAM")
    anonymous = await homeserver.client().get(f"{V1}/rooms/{q(rooms['root'])}/hierarchy")
    assert err(anonymous) == (401, "M_MISSING_TOKEN")
