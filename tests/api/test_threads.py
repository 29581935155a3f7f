"""GET /rooms/{roomId}/threads and the m.thread aggregation (modules/threading.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.history_helpers import V1, V3, User, q, send_event, user
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


def in_thread(root: str, body: str) -> dict[str, Any]:
    return {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {"rel_type": "m.thread", "event_id": root},
    }


async def threads(u: User, room_id: str, **params: Any) -> Any:
    return await u.client.get(
        f"{V1}/rooms/{q(room_id)}/threads", query={k: str(v) for k, v in params.items()}
    )


async def test_threads_list_and_aggregation(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    first = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "t1"})
    second = await send_event(hs, room, bob.user_id, {"msgtype": "m.text", "body": "t2"})
    third = await send_event(hs, room, bob.user_id, {"msgtype": "m.text", "body": "t3"})
    await send_event(hs, room, bob.user_id, in_thread(first, "1a"))
    await send_event(hs, room, bob.user_id, in_thread(second, "2a"))
    await send_event(hs, room, bob.user_id, in_thread(third, "3a"))
    latest_first = await send_event(hs, room, bob.user_id, in_thread(first, "1b"))

    body = (await threads(alice, room)).json()
    roots = [e["event_id"] for e in body["chunk"]]
    assert roots == [first, third, second]  # by latest activity
    thread = body["chunk"][0]["unsigned"]["m.relations"]["m.thread"]
    assert thread["count"] == 2
    assert thread["latest_event"]["event_id"] == latest_first
    assert thread["latest_event"]["content"]["body"] == "1b"
    assert thread["current_user_participated"] is True  # alice sent the root
    assert (
        body["chunk"][1]["unsigned"]["m.relations"]["m.thread"]["current_user_participated"]
        is False
    )

    participated = (await threads(alice, room, include="participated")).json()
    assert [e["event_id"] for e in participated["chunk"]] == [first]

    # Pagination.
    page1 = (await threads(alice, room, limit=2)).json()
    assert [e["event_id"] for e in page1["chunk"]] == [first, third]
    page2 = (await threads(alice, room, limit=2, **{"from": page1["next_batch"]})).json()
    assert [e["event_id"] for e in page2["chunk"]] == [second]
    assert "next_batch" not in page2

    # Ignoring bob: his thread roots come back redacted, his replies uncounted.
    await alice.client.put(
        f"{V3}/user/{q(alice.user_id)}/account_data/m.ignored_user_list",
        json_body={"ignored_users": {bob.user_id: {}}},
    )
    body = (await threads(alice, room)).json()
    by_id = {e["event_id"]: e for e in body["chunk"]}
    assert by_id[second]["content"] == {}
    assert "m.thread" not in by_id[first].get("unsigned", {}).get("m.relations", {})


async def test_threads_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    eve = await user(hs, "eve")
    room = await alice.create_room()
    assert (await threads(eve, room)).status == 403
    assert (await threads(alice, "!nope:localhost")).status == 403
    for params in ({"include": "some"}, {"from": "zz"}, {"limit": "0"}, {"limit": "x"}):
        response = await threads(alice, room, **params)
        assert (response.status, response.json()["errcode"]) == (400, "M_INVALID_PARAM"), params
