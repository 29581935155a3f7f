"""State events carry what they replaced: ``unsigned.replaces_state``,
``prev_content`` and ``prev_sender`` (spec v1.19, ClientEvent ``unsigned``),
on every endpoint that serves events and in /sync."""

from __future__ import annotations

from typing import Any

from tests.api.rooms_helpers import V3, q, user
from trioserver.testing import TestHomeserver


def by_id(events: list[dict[str, Any]], event_id: str) -> dict[str, Any]:
    return next(e for e in events if e["event_id"] == event_id)


async def test_a_second_room_name_says_what_it_replaced(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room(name="First")
    first = (await alice.client.get(f"{V3}/rooms/{q(room)}/state/m.room.name/")).json()
    assert first == {"name": "First"}
    sync0 = (await alice.client.get(f"{V3}/sync")).json()
    first_event = next(
        e
        for e in sync0["rooms"]["join"][room]["timeline"]["events"]
        + sync0["rooms"]["join"][room]["state"]["events"]
        if e["type"] == "m.room.name"
    )
    assert "replaces_state" not in first_event.get("unsigned", {})
    response = await alice.put_state(room, "m.room.name", {"name": "Second"})
    second_id = response.json()["event_id"]
    expected = {
        "replaces_state": first_event["event_id"],
        "prev_content": {"name": "First"},
        "prev_sender": alice.user_id,
    }

    def check(event: dict[str, Any]) -> None:
        unsigned = event["unsigned"]
        assert {k: unsigned.get(k) for k in expected} == expected, event

    check((await alice.get_event(room, second_id)).json())
    messages = await alice.client.get(f"{V3}/rooms/{q(room)}/messages", query={"dir": "b"})
    check(by_id(messages.json()["chunk"], second_id))
    context = await alice.client.get(f"{V3}/rooms/{q(room)}/context/{q(second_id)}")
    check(context.json()["event"])
    check(by_id((await alice.client.get(f"{V3}/rooms/{q(room)}/state")).json(), second_id))
    since = sync0["next_batch"]
    incremental = (await alice.client.get(f"{V3}/sync", query={"since": since})).json()
    check(by_id(incremental["rooms"]["join"][room]["timeline"]["events"], second_id))
    full = (await alice.client.get(f"{V3}/sync", query={"full_state": "true"})).json()
    room_sync = full["rooms"]["join"][room]
    check(by_id(room_sync["timeline"]["events"] + room_sync["state"]["events"], second_id))


async def test_a_display_name_change_shows_the_previous_membership(
    homeserver: TestHomeserver,
) -> None:
    alice, bob = await user(homeserver, "alice"), await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    response = await bob.put_state(
        room, "m.room.member", {"membership": "join", "displayname": "Bobby"}, state_key=bob.user_id
    )
    assert response.status == 200, response.json()
    event = (await alice.get_event(room, response.json()["event_id"])).json()
    assert event["unsigned"]["prev_content"]["membership"] == "join"
    assert event["unsigned"]["prev_content"].get("displayname") != "Bobby"
    assert event["unsigned"]["prev_sender"] == bob.user_id


async def test_prev_content_of_a_redacted_event_is_redacted(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    topic = (await alice.put_state(room, "m.room.topic", {"topic": "secret plans"})).json()
    redaction = await alice.client.put(
        f"{V3}/rooms/{q(room)}/redact/{q(topic['event_id'])}/r1", json_body={}
    )
    assert redaction.status == 200
    second = (await alice.put_state(room, "m.room.topic", {"topic": "nothing"})).json()
    event = (await alice.get_event(room, second["event_id"])).json()
    assert event["unsigned"]["replaces_state"] == topic["event_id"]
    assert event["unsigned"]["prev_content"] == {}
