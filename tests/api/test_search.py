"""POST /search (room_events): FTS5 over visible, unredacted events."""

from __future__ import annotations

from typing import Any

from tests.api.accounts_helpers import V3, errcode
from tests.api.directory_helpers import (
    join,
    leave,
    make_room,
    redact,
    send_message,
)
from trioserver.testing import TestHomeserver

ALICE = "@alice:localhost"
BOB = "@bob:localhost"
CAROL = "@carol:localhost"


async def search(
    hs: TestHomeserver, token: str, criteria: dict[str, Any], next_batch: str | None = None
) -> dict[str, Any]:
    response = await hs.client(token).post(
        f"{V3}/search",
        json_body={"search_categories": {"room_events": criteria}},
        query={"next_batch": next_batch} if next_batch else None,
    )
    assert response.status == 200, response.body
    result = response.json()["search_categories"]["room_events"]
    assert isinstance(result, dict)
    return result


def bodies(result: dict[str, Any]) -> list[str]:
    return [r["result"]["content"].get("body") for r in result["results"]]


async def test_search_basics(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = (await hs.register_user("alice")).access_token
    await hs.register_user("bob")
    room = await make_room(hs, ALICE, name="Banana republic", members=[BOB])
    other = await make_room(hs, ALICE, topic="banana topic")
    first = await send_message(hs, room, ALICE, "I like bananas")
    await send_message(hs, room, BOB, "apples are fine")
    await send_message(hs, room, BOB, "Bananas, bananas everywhere")
    await send_message(hs, other, ALICE, "no fruit here")

    result = await search(hs, alice, {"search_term": "banana", "order_by": "recent"})
    assert bodies(result) == [
        "Bananas, bananas everywhere",
        "I like bananas",
        None,  # the other room's topic
        None,  # the room name
    ]
    assert result["count"] == 4
    assert result["highlights"] == ["banana"]
    assert "next_batch" not in result
    top = result["results"][1]["result"]
    assert top["event_id"] == first and top["room_id"] == room and top["sender"] == ALICE
    assert "auth_events" not in top and "hashes" not in top

    ranked = await search(
        hs, alice, {"search_term": "bananas", "keys": ["content.body"], "order_by": "rank"}
    )
    assert set(bodies(ranked)) == {"I like bananas", "Bananas, bananas everywhere"}
    assert ranked["results"][0]["rank"] >= ranked["results"][1]["rank"]

    only_bob = await search(hs, alice, {"search_term": "banana", "filter": {"senders": [BOB]}})
    assert bodies(only_bob) == ["Bananas, bananas everywhere"]
    in_other = await search(hs, alice, {"search_term": "banana", "filter": {"rooms": [other]}})
    assert [r["result"]["type"] for r in in_other["results"]] == ["m.room.topic"]
    not_names = await search(
        hs, alice, {"search_term": "banana", "filter": {"not_types": ["m.room.n*"]}}
    )
    assert len(not_names["results"]) == 3
    grouped = await search(
        hs,
        alice,
        {
            "search_term": "banana",
            "groupings": {"group_by": [{"key": "room_id"}, {"key": "sender"}]},
        },
    )
    assert (
        grouped["groups"]["room_id"][room]["results"]
        and grouped["groups"]["room_id"][room]["order"] == 1
    )
    assert set(grouped["groups"]["sender"]) == {ALICE, BOB}
    with_state = await search(hs, alice, {"search_term": "fruit", "include_state": True})
    assert {e["type"] for e in with_state["state"][other]} >= {"m.room.create", "m.room.topic"}


async def test_pagination_without_gaps_or_repeats(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = (await hs.register_user("alice")).access_token
    room = await make_room(hs, ALICE)
    sent = [await send_message(hs, room, ALICE, f"needle number {i}") for i in range(12)]
    for order_by in ("recent", "rank"):
        expected = list(sent)
        seen: list[str] = []
        token = None
        for _ in range(10):
            page = await search(
                hs,
                alice,
                {"search_term": "needle", "order_by": order_by, "filter": {"limit": 5}},
                token,
            )
            seen += [r["result"]["event_id"] for r in page["results"]]
            token = page.get("next_batch")
            if token is None:
                break
            # A new match after the first page is not part of this search.
            sent.append(await send_message(hs, room, ALICE, "needle late"))
        assert sorted(seen) == sorted(expected), order_by
        assert len(seen) == len(set(seen))
        if order_by == "recent":
            assert seen == expected[::-1]


async def test_visibility_redaction_and_ignore(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = (await hs.register_user("alice")).access_token
    bob = (await hs.register_user("bob")).access_token
    carol = (await hs.register_user("carol")).access_token
    room = await make_room(hs, ALICE, history_visibility="joined")
    await send_message(hs, room, ALICE, "secret before bob")
    await join(hs, room, BOB)
    await send_message(hs, room, ALICE, "secret while bob")
    gone = await send_message(hs, room, ALICE, "secret to redact")
    await redact(hs, room, ALICE, gone)
    await leave(hs, room, BOB)
    await send_message(hs, room, ALICE, "secret after bob")
    await join(hs, room, CAROL)
    await send_message(hs, room, CAROL, "secret from carol")

    assert bodies(await search(hs, bob, {"search_term": "secret", "order_by": "recent"})) == [
        "secret while bob"
    ]
    mine = bodies(await search(hs, alice, {"search_term": "secret", "order_by": "recent"}))
    assert "secret to redact" not in mine and len(mine) == 4
    # Alice ignores Carol: Carol's messages are dropped.
    put = await hs.client(alice).put(
        f"{V3}/user/{ALICE}/account_data/m.ignored_user_list",
        json_body={"ignored_users": {CAROL: {}}},
    )
    assert put.status == 200
    mine = bodies(await search(hs, alice, {"search_term": "secret", "order_by": "recent"}))
    assert "secret from carol" not in mine and len(mine) == 3
    # Dave is in no room: nothing.
    del carol
    dave = (await hs.register_user("dave")).access_token
    assert (await search(hs, dave, {"search_term": "secret"}))["results"] == []


async def test_event_context(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = (await hs.register_user("alice")).access_token
    await hs.register_user("bob")
    room = await make_room(hs, ALICE)
    await join(hs, room, BOB, displayname="Bobby")
    await send_message(hs, room, ALICE, "one")
    await send_message(hs, room, BOB, "two")
    await send_message(hs, room, ALICE, "target")
    await send_message(hs, room, BOB, "four")
    result = await search(
        hs,
        alice,
        {
            "search_term": "target",
            "event_context": {"before_limit": 2, "after_limit": 1, "include_profile": True},
        },
    )
    context = result["results"][0]["context"]
    assert [e["content"]["body"] for e in context["events_before"]] == ["two", "one"]
    assert [e["content"]["body"] for e in context["events_after"]] == ["four"]
    assert isinstance(context["start"], str) and isinstance(context["end"], str)
    assert context["profile_info"][BOB] == {"displayname": "Bobby"}
    assert ALICE in context["profile_info"]


async def test_search_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = hs.client((await hs.register_user("alice")).access_token)
    path = f"{V3}/search"
    assert errcode(await alice.post(path, json_body={})) == (400, "M_MISSING_PARAM")
    bad = [
        {"search_categories": []},
        {"search_categories": {"room_events": []}},
        {"search_categories": {"room_events": {"search_term": 1}}},
        {"search_categories": {"room_events": {"search_term": "a", "keys": ["content.x"]}}},
        {"search_categories": {"room_events": {"search_term": "a", "order_by": "best"}}},
        {"search_categories": {"room_events": {"search_term": "a", "filter": {"limit": "1"}}}},
        {"search_categories": {"room_events": {"search_term": "a", "filter": {"rooms": "!a"}}}},
        {"search_categories": {"room_events": {"search_term": "a", "event_context": 1}}},
        {
            "search_categories": {
                "room_events": {"search_term": "a", "groupings": {"group_by": [{"key": "x"}]}}
            }
        },
    ]
    for body in bad:
        assert errcode(await alice.post(path, json_body=body)) == (400, "M_INVALID_PARAM"), body
    missing: dict[str, Any] = {"search_categories": {"room_events": {}}}
    assert errcode(await alice.post(path, json_body=missing)) == (400, "M_MISSING_PARAM")
    ok = {"search_categories": {"room_events": {"search_term": "a"}}}
    for token in ["bogus", "t1_x", "r1_2"]:
        response = await alice.post(path, json_body=ok, query={"next_batch": token})
        if token == "r1_2":
            assert response.status == 200
        else:
            assert errcode(response) == (400, "M_INVALID_PARAM"), token
    # FTS5 syntax in the term is only words to us.
    odd = {"search_categories": {"room_events": {"search_term": 'AND OR "NEAR(* -'}}}
    assert (await alice.post(path, json_body=odd)).status == 200
    assert (await alice.post(path, json_body={"search_categories": {}})).json() == {
        "search_categories": {}
    }
