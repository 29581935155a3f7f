"""Send-time rules on relations: no duplicate annotation, no thread from an
event that itself relates to another."""

from __future__ import annotations

from typing import Any

from tests.api.rooms_helpers import V3, err, q, user
from trioserver.testing import TestHomeserver


def rel(rel_type: str, parent: str, **extra: Any) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": rel_type, "event_id": parent, **extra}}


async def test_a_second_identical_annotation_is_refused(homeserver: TestHomeserver) -> None:
    alice, bob = await user(homeserver, "alice"), await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    target = await alice.send_ok(room, "hello", "t0")
    thumbs = rel("m.annotation", target, key="👍")
    first = await alice.send(room, thumbs, "a1", event_type="m.reaction")
    assert first.status == 200
    again = await alice.send(room, thumbs, "a2", event_type="m.reaction")
    assert err(again) == (400, "M_DUPLICATE_ANNOTATION")
    # The same transaction ID still answers the first event.
    retry = await alice.send(room, thumbs, "a1", event_type="m.reaction")
    assert retry.json()["event_id"] == first.json()["event_id"]
    # Another key, another sender: fine.
    assert (
        await alice.send(room, rel("m.annotation", target, key="🎉"), "a3", "m.reaction")
    ).status == 200
    assert (await bob.send(room, thumbs, "b1", event_type="m.reaction")).status == 200
    # Once the first is redacted, the annotation may be sent again.
    redact = await alice.client.put(
        f"{V3}/rooms/{q(room)}/redact/{q(first.json()['event_id'])}/r1", json_body={}
    )
    assert redact.status == 200
    assert (await alice.send(room, thumbs, "a4", event_type="m.reaction")).status == 200


async def test_no_thread_from_an_event_with_a_relation(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    root = await alice.send_ok(room, "root", "t0")
    reply = await alice.send(
        room, {"msgtype": "m.text", "body": "in thread", **rel("m.thread", root)}, "t1"
    )
    assert reply.status == 200
    nested = await alice.send(
        room,
        {"msgtype": "m.text", "body": "nested", **rel("m.thread", reply.json()["event_id"])},
        "t2",
    )
    assert err(nested) == (400, "M_UNKNOWN")
    assert (
        await alice.send(room, {"msgtype": "m.text", "body": "more", **rel("m.thread", root)}, "t3")
    ).status == 200
