"""GET /rooms/{roomId}/messages (spec: "Getting events for a room")."""

from __future__ import annotations

from typing import Any

import pytest
import trio.testing

from tests.api.history_helpers import V3, User, messages, q, send_event, send_many, user
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


def bodies(chunk: list[dict[str, Any]]) -> list[str]:
    return [e["content"]["body"] for e in chunk if e["type"] == "m.room.message"]


async def walk(u: User, room_id: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow ``end`` until it is omitted; all events and the number of pages."""
    events: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = await messages(u, room_id, **params)
        assert response.status == 200, response.json()
        body = response.json()
        pages += 1
        assert "start" in body
        events.extend(body["chunk"])
        if "end" not in body:
            return events, pages
        params["from"] = body["end"]
        assert pages < 100


async def public_room(hs: TestHomeserver, owner: User, **body: Any) -> str:
    return await owner.create_room(preset="public_chat", **body)


async def test_paginating_back_and_forth_returns_every_event_once_in_order(
    homeserver: TestHomeserver,
) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await public_room(hs, alice)
    ids = await send_many(hs, room, alice.user_id, 200)

    back, pages = await walk(alice, room, dir="b", limit=50)
    event_ids = [e["event_id"] for e in back]
    assert len(event_ids) == len(set(event_ids))
    messages_back = [e["event_id"] for e in back if e["type"] == "m.room.message"]
    assert messages_back == list(reversed(ids))
    assert back[-1]["type"] == "m.room.create"  # down to the start of the room
    assert pages == 5  # 200 messages + a few state events, 50 a page
    ts = [e["origin_server_ts"] for e in back]
    assert ts == sorted(ts, reverse=True)

    forward, _ = await walk(alice, room, dir="f", limit=50)
    assert [e["event_id"] for e in forward] == list(reversed(event_ids))
    for event in back:
        assert event["room_id"] == room
        assert "unsigned" in event and "age" in event["unsigned"]
        assert "hashes" not in event and "prev_events" not in event


async def test_from_to_tokens_and_sync_style_tokens(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await public_room(hs, alice)
    ids = await send_many(hs, room, alice.user_id, 10)

    first = (await messages(alice, room, dir="b", limit=3)).json()
    assert [e["event_id"] for e in first["chunk"]] == ids[-1:-4:-1]
    # A position token stops the backward walk there (exclusive of older events).
    middle = first["end"]
    second = (await messages(alice, room, dir="b", limit=3, **{"from": middle})).json()
    assert second["start"] == middle
    assert [e["event_id"] for e in second["chunk"]] == ids[-4:-7:-1]
    # Forward from there, stopping at `to`.
    after = (await messages(alice, room, dir="f", limit=50, **{"from": second["end"]})).json()
    assert [e["event_id"] for e in after["chunk"]] == ids[4:]
    bounded = (
        await messages(alice, room, dir="f", limit=50, to=middle, **{"from": second["end"]})
    ).json()
    assert [e["event_id"] for e in bounded["chunk"]] == ids[4:7]
    assert "end" not in bounded
    back_to = (await messages(alice, room, dir="b", limit=50, to=second["end"])).json()
    assert [e["event_id"] for e in back_to["chunk"]] == ids[-1:3:-1]
    # A /sync next_batch (more streams) works as `from`.
    position = int(middle[1:].split("_")[0])
    sync_token = f"s{position}_5_7_0_1_2_3_4"
    same = (await messages(alice, room, dir="b", limit=3, **{"from": sync_token})).json()
    assert same["chunk"] == second["chunk"] or [e["event_id"] for e in same["chunk"]] == [
        e["event_id"] for e in second["chunk"]
    ]
    # limit=0: nothing, but an end to go on from.
    empty = (await messages(alice, room, dir="b", limit=0)).json()
    assert empty["chunk"] == [] and "end" in empty


async def test_filters(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await public_room(hs, alice)
    assert (await bob.join(room)).status == 200
    await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "a1"})
    await send_event(hs, room, bob.user_id, {"msgtype": "m.text", "body": "b1"})
    await send_event(
        hs, room, bob.user_id, {"msgtype": "m.image", "body": "img", "url": "mxc://x/y"}
    )
    await send_event(hs, room, alice.user_id, {"key": "👍"}, "m.reaction")

    async def filtered(f: dict[str, Any]) -> list[dict[str, Any]]:
        response = await messages(alice, room, dir="b", limit=100, filter=f)
        assert response.status == 200, response.json()
        return list(response.json()["chunk"])

    assert bodies(await filtered({"types": ["m.room.message"]})) == ["img", "b1", "a1"]
    assert bodies(await filtered({"senders": [bob.user_id]})) == ["img", "b1"]
    assert bodies(await filtered({"not_senders": [bob.user_id], "types": ["m.*"]})) == ["a1"]
    assert bodies(await filtered({"contains_url": True})) == ["img"]
    assert "img" not in bodies(await filtered({"contains_url": False}))
    only_reaction = await filtered({"types": ["m.reaction"]})
    assert [e["type"] for e in only_reaction] == ["m.reaction"]
    no_state = await filtered({"not_types": ["m.room.*"]})
    assert {e["type"] for e in no_state} == {"m.reaction"}
    # The filter's limit is the default page size.
    assert len((await messages(alice, room, dir="b", filter={"limit": 2})).json()["chunk"]) == 2


async def test_lazy_loaded_members(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    carol = await user(hs, "carol")
    room = await public_room(hs, alice)
    for u in (bob, carol):
        assert (await u.join(room)).status == 200
    await send_event(hs, room, bob.user_id, {"msgtype": "m.text", "body": "b"})
    await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "a"})
    response = await messages(alice, room, dir="b", limit=2, filter={"lazy_load_members": True})
    body = response.json()
    assert bodies(body["chunk"]) == ["a", "b"]
    members = {e["state_key"]: e for e in body["state"]}
    assert set(members) == {alice.user_id, bob.user_id}  # not carol
    assert all(e["type"] == "m.room.member" for e in body["state"])
    assert members[bob.user_id]["content"]["membership"] == "join"
    plain = (await messages(alice, room, dir="b", limit=2)).json()
    assert plain["state"] == []
    redundant = await messages(
        alice,
        room,
        dir="b",
        limit=2,
        filter={"lazy_load_members": True, "include_redundant_members": True},
    )
    assert {e["state_key"] for e in redundant.json()["state"]} == {alice.user_id, bob.user_id}


@pytest.mark.parametrize(
    ("visibility", "sees_before_join"), [("joined", False), ("shared", True), ("invited", False)]
)
async def test_history_visibility(
    homeserver: TestHomeserver, visibility: str, sees_before_join: bool
) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await public_room(
        hs,
        alice,
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": visibility}}
        ],
    )
    await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "before"})
    assert (await bob.join(room)).status == 200
    await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "after"})
    events, _ = await walk(bob, room, dir="b", limit=2)
    expected = ["after", "before"] if sees_before_join else ["after"]
    assert bodies(events) == expected
    # Bob leaves: he keeps what he could see (shared history from before his
    # join included: he joined after it), and sees nothing sent after.
    assert (await bob.post(f"/rooms/{q(room)}/leave")).status == 200
    await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "gone"})
    events, _ = await walk(bob, room, dir="b", limit=5)
    assert bodies(events) == expected


async def test_world_readable_room_can_be_read_by_anyone(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    eve = await user(hs, "eve")
    room = await public_room(
        hs,
        alice,
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "content": {"history_visibility": "world_readable"},
            }
        ],
    )
    await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "hi"})
    response = await messages(eve, room, dir="b")
    assert response.status == 200
    assert bodies(response.json()["chunk"]) == ["hi"]


async def test_redacted_events_are_served_redacted(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await public_room(hs, alice)
    target = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "oops"})
    redaction = await send_event(
        hs, room, alice.user_id, {"reason": "typo"}, "m.room.redaction", redacts=target
    )
    chunk = (await messages(alice, room, dir="b", limit=2)).json()["chunk"]
    assert [e["event_id"] for e in chunk] == [redaction, target]
    redacted = chunk[1]
    assert redacted["content"] == {}
    because = redacted["unsigned"]["redacted_because"]
    assert because["event_id"] == redaction
    assert because["content"]["reason"] == "typo"
    assert chunk[0]["redacts"] == target


async def test_ignored_users_are_left_out(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await public_room(hs, alice)
    assert (await bob.join(room)).status == 200
    await send_event(hs, room, bob.user_id, {"msgtype": "m.text", "body": "spam"})
    await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "hello"})
    response = await alice.client.put(
        f"{V3}/user/{q(alice.user_id)}/account_data/m.ignored_user_list",
        json_body={"ignored_users": {bob.user_id: {}}},
    )
    assert response.status == 200
    events, _ = await walk(alice, room, dir="b", limit=10)
    assert bodies(events) == ["hello"]
    # Bob's state (his join) is still shown.
    assert any(e["type"] == "m.room.member" and e["state_key"] == bob.user_id for e in events)


async def test_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    eve = await user(hs, "eve")
    room = await alice.create_room()  # private: invite only, shared history
    await send_many(hs, room, alice.user_id, 2)

    async def status(u: User, room_id: str, **params: Any) -> tuple[int, str | None]:
        response = await messages(u, room_id, **params)
        return response.status, response.json().get("errcode")

    assert await status(eve, room, dir="b") == (403, "M_FORBIDDEN")
    assert await status(alice, "!unknown:localhost", dir="b") == (403, "M_FORBIDDEN")
    assert await status(alice, "not-a-room", dir="b") == (400, "M_INVALID_PARAM")
    assert await status(alice, room) == (400, "M_MISSING_PARAM")
    bad: list[dict[str, Any]] = [
        {"dir": "x"},
        {"dir": "b", "from": "nonsense"},
        {"dir": "b", "from": "s-1"},
        {"dir": "b", "to": "t123"},
        {"dir": "b", "limit": "ten"},
        {"dir": "b", "limit": "-1"},
        {"dir": "b", "limit": "9" * 40},
        {"dir": "b", "filter": "{"},
        {"dir": "b", "filter": '{"types": "m.room.message"}'},
        {"dir": "b", "filter": "[]"},
    ]
    for params in bad:
        assert await status(alice, room, **params) == (400, "M_INVALID_PARAM"), params
    unauthenticated = await hs.client().get(f"{V3}/rooms/{q(room)}/messages?dir=b")
    assert unauthenticated.status == 401
    # r0 still answers.
    old = await alice.client.get(f"/_matrix/client/r0/rooms/{q(room)}/messages?dir=b")
    assert old.status == 200


async def test_huge_limit_is_capped(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await public_room(hs, alice)
    await send_many(hs, room, alice.user_id, 3)
    response = await messages(alice, room, dir="f", limit=10**9)
    assert response.status == 200
    assert bodies(response.json()["chunk"]) == ["message 0", "message 1", "message 2"]
    assert "end" not in response.json()
