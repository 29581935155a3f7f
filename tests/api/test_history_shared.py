"""``shared`` history visibility: a user who joined after an event may see it,
even after leaving again (spec: "Room History Visibility", rule 3)."""

from __future__ import annotations

from tests.api.rooms_helpers import V3, err, q, user
from trioserver.testing import TestHomeserver


async def test_a_user_who_joined_and_left_still_sees_earlier_shared_history(
    homeserver: TestHomeserver,
) -> None:
    alice, bob, carol = [await user(homeserver, n) for n in ("alice", "bob", "carol")]
    room = await alice.create_room(preset="public_chat")
    before = await alice.send_ok(room, "before bob", "t0")
    assert (await bob.join(room)).status == 200
    assert (await bob.post(f"/rooms/{q(room)}/leave")).status == 200
    after = await alice.send_ok(room, "after bob left", "t1")

    seen = await bob.get_event(room, before)
    assert seen.status == 200 and seen.json()["content"]["body"] == "before bob"
    context = await bob.client.get(f"{V3}/rooms/{q(room)}/context/{q(before)}")
    assert context.status == 200
    page = await bob.client.get(f"{V3}/rooms/{q(room)}/messages", query={"dir": "b"})
    bodies = [e["content"].get("body") for e in page.json()["chunk"]]
    assert "before bob" in bodies
    assert "after bob left" not in bodies
    assert err(await bob.get_event(room, after)) == (404, "M_NOT_FOUND")
    # Carol never joined: shared history is not hers.
    assert (await carol.get_event(room, before)).status in (403, 404)


async def test_joined_visibility_hides_what_came_before_a_join(
    homeserver: TestHomeserver,
) -> None:
    alice, bob = await user(homeserver, "alice"), await user(homeserver, "bob")
    room = await alice.create_room(
        preset="public_chat",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
        ],
    )
    before = await alice.send_ok(room, "before bob", "t0")
    assert (await bob.join(room)).status == 200
    assert (await bob.post(f"/rooms/{q(room)}/leave")).status == 200
    assert err(await bob.get_event(room, before)) == (404, "M_NOT_FOUND")
