"""GET/POST /publicRooms: the published room directory."""

from __future__ import annotations

from tests.api.accounts_helpers import V3, errcode
from tests.api.directory_helpers import join, make_room, send_state
from trioserver.testing import TestHomeserver

ALICE = "@alice:localhost"
BOB = "@bob:localhost"


async def publish(hs: TestHomeserver, token: str, room_id: str) -> None:
    response = await hs.client(token).put(
        f"{V3}/directory/list/room/{room_id}", json_body={"visibility": "public"}
    )
    assert response.status == 200


async def test_public_rooms_listing(homeserver: TestHomeserver) -> None:
    hs = homeserver
    token = (await hs.register_user("alice")).access_token
    await hs.register_user("bob")
    alice = hs.client(token)
    big = await make_room(hs, ALICE, name="Monkeys", topic="Bananas", members=[BOB])
    await send_state(hs, big, ALICE, "m.room.canonical_alias", {"alias": "#m:localhost"})
    await send_state(hs, big, ALICE, "m.room.avatar", {"url": "mxc://localhost/a"})
    await send_state(hs, big, ALICE, "m.room.guest_access", {"guest_access": "can_join"})
    space = await make_room(hs, ALICE, name="A space", room_type="m.space")
    readable = await make_room(hs, ALICE, history_visibility="world_readable")
    await make_room(hs, ALICE, name="Unpublished")
    for room in (big, space, readable):
        await publish(hs, token, room)

    listed = await hs.client().get(f"{V3}/publicRooms")
    assert listed.status == 200
    body = listed.json()
    assert body["total_room_count_estimate"] == 3
    assert "next_batch" not in body and "prev_batch" not in body
    assert body["chunk"][0] == {
        "room_id": big,
        "name": "Monkeys",
        "topic": "Bananas",
        "canonical_alias": "#m:localhost",
        "avatar_url": "mxc://localhost/a",
        "num_joined_members": 2,
        "world_readable": False,
        "guest_can_join": True,
        "join_rule": "public",
    }
    rest = {entry["room_id"]: entry for entry in body["chunk"][1:]}
    assert rest[space]["room_type"] == "m.space"
    assert rest[readable]["world_readable"] is True
    assert "name" not in rest[readable]

    # Search over name, topic and alias.
    for term, expected in [("monk", [big]), ("BANANA", [big]), ("#m:", [big]), ("zzz", [])]:
        found = await alice.post(
            f"{V3}/publicRooms", json_body={"filter": {"generic_search_term": term}}
        )
        assert [e["room_id"] for e in found.json()["chunk"]] == expected, term
    # Room types: null selects rooms without a type.
    spaces = await alice.post(
        f"{V3}/publicRooms", json_body={"filter": {"room_types": ["m.space"]}}
    )
    assert [e["room_id"] for e in spaces.json()["chunk"]] == [space]
    plain = await alice.post(f"{V3}/publicRooms", json_body={"filter": {"room_types": [None]}})
    assert {e["room_id"] for e in plain.json()["chunk"]} == {big, readable}
    none = await alice.post(f"{V3}/publicRooms", json_body={"third_party_instance_id": "irc"})
    assert none.json()["chunk"] == []


async def test_public_rooms_pagination(homeserver: TestHomeserver) -> None:
    hs = homeserver
    token = (await hs.register_user("alice")).access_token
    rooms = [await make_room(hs, ALICE, name=f"room {i}") for i in range(5)]
    for room in rooms:
        await publish(hs, token, room)
    seen: list[str] = []
    since: str | None = None
    pages = 0
    while True:
        query = {"limit": "2"} | ({"since": since} if since else {})
        page = (await hs.client().get(f"{V3}/publicRooms", query=query)).json()
        seen += [e["room_id"] for e in page["chunk"]]
        pages += 1
        if pages > 1:
            assert "prev_batch" in page
        since = page.get("next_batch")
        if since is None:
            break
    assert pages == 3 and sorted(seen) == sorted(rooms) and len(seen) == 5
    # POST pages the same way, and prev_batch goes back.
    first = (await hs.client(token).post(f"{V3}/publicRooms", json_body={"limit": 2})).json()
    second = (
        await hs.client(token).post(
            f"{V3}/publicRooms", json_body={"limit": 2, "since": first["next_batch"]}
        )
    ).json()
    back = (
        await hs.client(token).post(
            f"{V3}/publicRooms", json_body={"limit": 2, "since": second["prev_batch"]}
        )
    ).json()
    assert back["chunk"] == first["chunk"]


async def test_member_count_follows_membership(homeserver: TestHomeserver) -> None:
    hs = homeserver
    token = (await hs.register_user("alice")).access_token
    room = await make_room(hs, ALICE)
    await publish(hs, token, room)
    await join(hs, room, BOB)
    chunk = (await hs.client().get(f"{V3}/publicRooms")).json()["chunk"]
    assert chunk[0]["num_joined_members"] == 2
    await send_state(hs, room, BOB, "m.room.member", {"membership": "leave"}, BOB)
    chunk = (await hs.client().get(f"{V3}/publicRooms")).json()["chunk"]
    assert chunk[0]["num_joined_members"] == 1
    # Unpublished: gone.
    await hs.client(token).put(
        f"{V3}/directory/list/room/{room}", json_body={"visibility": "private"}
    )
    assert (await hs.client().get(f"{V3}/publicRooms")).json()["chunk"] == []


async def test_public_rooms_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    for query in [{"limit": "x"}, {"limit": "-1"}, {"since": "bogus"}]:
        assert errcode(await hs.client().get(f"{V3}/publicRooms", query=query)) == (
            400,
            "M_INVALID_PARAM",
        ), query
    assert errcode(
        await hs.client().get(f"{V3}/publicRooms", query={"server": "other.example"})
    ) == (404, "M_NOT_FOUND")
    assert errcode(await hs.client().post(f"{V3}/publicRooms", json_body={})) == (
        401,
        "M_MISSING_TOKEN",
    )
    bad_bodies = [
        {"limit": "3"},
        {"limit": True},
        {"since": 3},
        {"filter": []},
        {"filter": {"generic_search_term": 5}},
        {"filter": {"room_types": "m.space"}},
        {"filter": {"room_types": [1]}},
        {"include_all_networks": "yes"},
        {"third_party_instance_id": 5},
        {"include_all_networks": True, "third_party_instance_id": "irc"},
    ]
    for body in bad_bodies:
        assert errcode(await alice.post(f"{V3}/publicRooms", json_body=body)) == (
            400,
            "M_INVALID_PARAM",
        ), body
    assert errcode(await alice.post(f"{V3}/publicRooms", data=b"nope")) == (400, "M_NOT_JSON")
