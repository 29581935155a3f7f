"""Room aliases (PUT/GET/DELETE /directory/room/{roomAlias}, GET
/rooms/{roomId}/aliases), room directory visibility, canonical alias checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.api.accounts_helpers import V3, errcode
from tests.api.directory_helpers import join, make_room
from trioserver.directory.aliases import check_canonical_alias_content
from trioserver.protocol.errors import MatrixError
from trioserver.testing import TestHomeserver

ALICE = "@alice:localhost"
BOB = "@bob:localhost"
CAROL = "@carol:localhost"


def alias_path(alias: str) -> str:
    return f"{V3}/directory/room/{quote(alias, safe='')}"


async def test_alias_lifecycle(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    room_id = await make_room(hs, ALICE)
    alias = "#monkeys:localhost"

    put = await alice.put(alias_path(alias), json_body={"room_id": room_id})
    assert (put.status, put.json()) == (200, {})
    got = await hs.client().get(alias_path(alias))
    assert (got.status, got.json()) == (200, {"room_id": room_id, "servers": ["localhost"]})
    again = await alice.put(alias_path(alias), json_body={"room_id": room_id})
    assert errcode(again) == (409, "M_UNKNOWN")

    second = "#apes/with?odd chars:localhost"
    assert (await alice.put(alias_path(second), json_body={"room_id": room_id})).status == 200
    listed = await alice.get(f"{V3}/rooms/{room_id}/aliases")
    assert (listed.status, listed.json()) == (200, {"aliases": [alias, second]})

    deleted = await alice.delete(alias_path(alias))
    assert (deleted.status, deleted.json()) == (200, {})
    assert errcode(await alice.get(alias_path(alias))) == (404, "M_NOT_FOUND")
    assert errcode(await alice.delete(alias_path(alias))) == (404, "M_NOT_FOUND")


async def test_alias_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    bob = hs.client((await hs.register_user("bob")).access_token)
    room_id = await make_room(hs, ALICE)
    body = {"room_id": room_id}

    for bad in ["monkeys", "#nocolon", "#bad:ser ver", "#x:"]:
        assert errcode(await alice.put(alias_path(bad), json_body=body)) == (
            400,
            "M_INVALID_PARAM",
        ), bad
        assert errcode(await alice.get(alias_path(bad))) == (400, "M_INVALID_PARAM"), bad
    assert errcode(await alice.put(alias_path("#a:other.server"), json_body=body)) == (
        400,
        "M_INVALID_PARAM",
    )
    assert errcode(await alice.get(alias_path("#a:other.server"))) == (404, "M_NOT_FOUND")
    assert errcode(await alice.put(alias_path("#a:localhost"), json_body={})) == (
        400,
        "M_MISSING_PARAM",
    )
    for room in [5, "not-a-room", None]:
        response = await alice.put(alias_path("#a:localhost"), json_body={"room_id": room})
        assert response.status == 400
    unknown = {"room_id": "!unknown:localhost"}
    assert errcode(await alice.put(alias_path("#a:localhost"), json_body=unknown)) == (
        404,
        "M_NOT_FOUND",
    )
    assert errcode(await alice.put(alias_path("#a:localhost"), data=b"[")) == (400, "M_NOT_JSON")
    # Bob is not in the room.
    assert errcode(await bob.put(alias_path("#a:localhost"), json_body=body)) == (
        403,
        "M_FORBIDDEN",
    )
    assert errcode(await hs.client().put(alias_path("#a:localhost"), json_body=body)) == (
        401,
        "M_MISSING_TOKEN",
    )
    assert errcode(await bob.get(f"{V3}/rooms/{room_id}/aliases")) == (403, "M_FORBIDDEN")
    assert errcode(await bob.get(f"{V3}/rooms/!nope:localhost/aliases")) == (403, "M_FORBIDDEN")
    assert errcode(await bob.get(f"{V3}/rooms/nope/aliases")) == (400, "M_INVALID_PARAM")


async def test_who_may_delete_an_alias(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    bob = hs.client((await hs.register_user("bob")).access_token)
    carol = hs.client((await hs.register_user("carol")).access_token)
    room_id = await make_room(hs, ALICE, members=[BOB, CAROL], power_users={CAROL: 50})
    for name, client in [("bob1", bob), ("bob2", bob), ("bob3", bob)]:
        response = await client.put(
            alias_path(f"#{name}:localhost"), json_body={"room_id": room_id}
        )
        assert response.status == 200
    # Carol has power 50 = the state default: she may delete Bob's alias.
    assert (await carol.delete(alias_path("#bob1:localhost"))).status == 200
    # Alice (room admin) may; the creator may.
    assert (await alice.delete(alias_path("#bob2:localhost"))).status == 200
    assert (await bob.delete(alias_path("#bob3:localhost"))).status == 200
    assert (
        await alice.put(alias_path("#al:localhost"), json_body={"room_id": room_id})
    ).status == 200
    assert errcode(await bob.delete(alias_path("#al:localhost"))) == (403, "M_FORBIDDEN")


async def test_aliases_of_world_readable_room(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    bob = hs.client((await hs.register_user("bob")).access_token)
    room_id = await make_room(hs, ALICE, history_visibility="world_readable")
    await alice.put(alias_path("#wr:localhost"), json_body={"room_id": room_id})
    listed = await bob.get(f"{V3}/rooms/{room_id}/aliases")
    assert (listed.status, listed.json()) == (200, {"aliases": ["#wr:localhost"]})


async def test_directory_visibility(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    bob = hs.client((await hs.register_user("bob")).access_token)
    room_id = await make_room(hs, ALICE, members=[BOB])
    path = f"{V3}/directory/list/room/{room_id}"
    got = await hs.client().get(path)
    assert (got.status, got.json()) == (200, {"visibility": "private"})
    put = await alice.put(path, json_body={"visibility": "public"})
    assert (put.status, put.json()) == (200, {})
    assert (await hs.client().get(path)).json() == {"visibility": "public"}
    # Bob has power 0: forbidden.
    assert errcode(await bob.put(path, json_body={"visibility": "private"})) == (
        403,
        "M_FORBIDDEN",
    )
    assert errcode(await alice.put(path, json_body={"visibility": "secret"})) == (
        400,
        "M_INVALID_PARAM",
    )
    assert errcode(await alice.put(path, json_body={"visibility": 1})) == (400, "M_INVALID_PARAM")
    assert (await alice.put(path, json_body={"visibility": "private"})).status == 200
    assert (await hs.client().get(path)).json() == {"visibility": "private"}
    # No body: public (the spec's default).
    assert (await alice.put(path, data=b"")).status == 200
    assert (await hs.client().get(path)).json() == {"visibility": "public"}

    unknown = f"{V3}/directory/list/room/!unknown:localhost"
    assert errcode(await hs.client().get(unknown)) == (404, "M_NOT_FOUND")
    assert errcode(await alice.put(unknown, json_body={"visibility": "public"})) == (
        404,
        "M_NOT_FOUND",
    )
    assert errcode(await hs.client().get(f"{V3}/directory/list/room/bad")) == (
        400,
        "M_INVALID_PARAM",
    )


async def test_server_admin_may_manage(homeserver: TestHomeserver) -> None:
    hs = homeserver
    await hs.register_user("alice")
    admin = hs.client((await hs.register_user("root", admin=True)).access_token)
    room_id = await make_room(hs, ALICE)
    assert (
        await admin.put(alias_path("#adm:localhost"), json_body={"room_id": room_id})
    ).status == 200
    path = f"{V3}/directory/list/room/{room_id}"
    assert (await admin.put(path, json_body={"visibility": "public"})).status == 200


async def test_check_canonical_alias_content(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    room_id = await make_room(hs, ALICE)
    other_room = await make_room(hs, ALICE)
    await alice.put(alias_path("#here:localhost"), json_body={"room_id": room_id})
    await alice.put(alias_path("#there:localhost"), json_body={"room_id": other_room})
    db = hs.services.db

    await check_canonical_alias_content(db, room_id, {})
    await check_canonical_alias_content(db, room_id, {"alias": "#here:localhost"})
    await check_canonical_alias_content(
        db, room_id, {"alias": "#here:localhost", "alt_aliases": ["#here:localhost"]}
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({"alias": "#there:localhost"}, "M_BAD_ALIAS"),
        ({"alt_aliases": ["#missing:localhost"]}, "M_BAD_ALIAS"),
        ({"alt_aliases": ["#remote:elsewhere"]}, "M_BAD_ALIAS"),
        ({"alias": "not an alias"}, "M_INVALID_PARAM"),
        ({"alias": 3}, "M_INVALID_PARAM"),
        ({"alt_aliases": "#here:localhost"}, "M_INVALID_PARAM"),
        ({"alt_aliases": [3]}, "M_INVALID_PARAM"),
    ]
    for content, code in cases:
        with pytest.raises(MatrixError) as info:
            await check_canonical_alias_content(db, room_id, content)
        assert (info.value.status, info.value.errcode) == (400, code), content
    # Aliases already in the current event are not checked again.
    previous = {"alt_aliases": ["#remote:elsewhere"]}
    await check_canonical_alias_content(
        db, room_id, {"alias": "#here:localhost", "alt_aliases": ["#remote:elsewhere"]}, previous
    )


async def test_aliases_of_a_room_the_user_left(homeserver: TestHomeserver) -> None:
    hs = homeserver
    await hs.register_user("alice")
    bob = hs.client((await hs.register_user("bob")).access_token)
    room_id = await make_room(hs, ALICE)
    await join(hs, room_id, BOB)
    assert (await bob.get(f"{V3}/rooms/{room_id}/aliases")).status == 200
