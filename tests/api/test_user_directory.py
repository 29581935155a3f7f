"""POST /user_directory/search."""

from __future__ import annotations

from tests.api.accounts_helpers import V3, errcode
from tests.api.directory_helpers import join, leave, make_room
from trioserver.testing import TestHomeserver

ALICE = "@alice:localhost"
BOB = "@bob:localhost"
CAROL = "@carol:localhost"
DAVE = "@dave:localhost"


async def search(hs: TestHomeserver, token: str, term: str, **extra: object) -> dict[str, object]:
    response = await hs.client(token).post(
        f"{V3}/user_directory/search", json_body={"search_term": term, **extra}
    )
    assert response.status == 200, response.body
    body = response.json()
    assert isinstance(body, dict)
    return body


def ids(body: dict[str, object]) -> list[str]:
    results = body["results"]
    assert isinstance(results, list)
    return [r["user_id"] for r in results]


async def test_shared_and_public_rooms(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = (await hs.register_user("alice")).access_token
    await hs.register_user("bob")
    await hs.register_user("carol")
    dave = (await hs.register_user("dave")).access_token
    # Alice and Bob share an invite-only room; Carol is in a public room.
    await make_room(hs, ALICE, join_rule="invite", members=[BOB])
    await make_room(hs, CAROL)
    assert ids(await search(hs, alice, "bob")) == [BOB]
    assert ids(await search(hs, alice, "carol")) == [CAROL]
    # Dave shares no room with Bob, and Bob's room is private.
    assert ids(await search(hs, dave, "bob")) == []
    assert ids(await search(hs, dave, "carol")) == [CAROL]


async def test_display_names_and_ranking(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = (await hs.register_user("alice")).access_token
    room = await make_room(hs, ALICE)
    for name, display_name in (("bob", "Zed Robertson"), ("carol", "Rob"), ("dave", "Mr Robot")):
        token = (await hs.register_user(name)).access_token
        put = await hs.client(token).put(
            f"{V3}/profile/@{name}:localhost/displayname", json_body={"displayname": display_name}
        )
        assert put.status == 200
        await join(hs, room, f"@{name}:localhost", displayname=display_name)
    body = await search(hs, alice, "rob")
    # Exact display name first, then prefix, then word prefix, then substring.
    assert ids(body) == [CAROL, DAVE, BOB]
    assert body["limited"] is False
    entry = body["results"][0]  # type: ignore[index]
    assert entry == {"user_id": CAROL, "display_name": "Rob"}
    limited = await search(hs, alice, "rob", limit=1)
    assert ids(limited) == [CAROL] and limited["limited"] is True
    # A global profile change shows at once.
    await hs.services.db.run_write(
        lambda conn: conn.execute(
            "INSERT INTO profile_fields (user_id, field, value) VALUES (?, 'displayname', ?)"
            " ON CONFLICT (user_id, field) DO UPDATE SET value = excluded.value",
            (DAVE, '"Daisy"'),
        )
    )
    assert ids(await search(hs, alice, "daisy")) == [DAVE]
    # Both words must match (user ID or name).
    assert ids(await search(hs, alice, "mr bob")) == []
    assert ids(await search(hs, alice, "@bob:localhost")) == [BOB]


async def test_leaving_removes_sharing(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = (await hs.register_user("alice")).access_token
    await hs.register_user("bob")
    room = await make_room(hs, ALICE, join_rule="invite", members=[BOB])
    assert ids(await search(hs, alice, "bob")) == [BOB]
    await leave(hs, room, BOB)
    assert ids(await search(hs, alice, "bob")) == []


async def test_user_directory_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    path = f"{V3}/user_directory/search"
    assert errcode(await alice.post(path, json_body={})) == (400, "M_MISSING_PARAM")
    for body in [
        {"search_term": 3},
        {"search_term": "a", "limit": "5"},
        {"search_term": "a", "limit": -1},
    ]:
        assert errcode(await alice.post(path, json_body=body)) == (400, "M_INVALID_PARAM"), body
    assert errcode(await alice.post(path, data=b"{")) == (400, "M_NOT_JSON")
    assert errcode(await hs.client().post(path, json_body={"search_term": "a"})) == (
        401,
        "M_MISSING_TOKEN",
    )
    empty = await alice.post(path, json_body={"search_term": "  "})
    assert empty.json() == {"limited": False, "results": []}
    odd = await alice.post(path, json_body={"search_term": "100%_\\"})
    assert odd.status == 200
