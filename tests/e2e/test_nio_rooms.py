"""matrix-nio creates a room, invites, joins, sends, redacts, sets state and
a display name on a real trioserver."""

from __future__ import annotations

from typing import Any

import nio

from tests.e2e.nio_helpers import run_asyncio
from trioserver.testing import TestHomeserver


async def test_nio_room_lifecycle(homeserver: TestHomeserver) -> None:
    base_url = homeserver.base_url

    async def session() -> dict[str, Any]:
        out: dict[str, Any] = {}
        alice = nio.AsyncClient(base_url, "alice")
        bob = nio.AsyncClient(base_url, "bob")
        try:
            await alice.register("alice", "pw-alice")
            await bob.register("bob", "pw-bob")
            assert isinstance(await alice.login("pw-alice"), nio.LoginResponse)
            created = await alice.room_create(name="Lobby", topic="hello")
            assert isinstance(created, nio.RoomCreateResponse), created
            room_id = created.room_id
            out["invite"] = await alice.room_invite(room_id, "@bob:localhost")
            out["join"] = await bob.join(room_id)
            sent = await alice.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": "hi bob"}
            )
            assert isinstance(sent, nio.RoomSendResponse), sent
            out["sent"] = sent
            out["bob_sees"] = await bob.room_get_event(room_id, sent.event_id)
            out["redact"] = await alice.room_redact(room_id, sent.event_id, reason="typo")
            out["after_redact"] = await bob.room_get_event(room_id, sent.event_id)
            out["topic_set"] = await bob.room_put_state(room_id, "m.room.topic", {"topic": "x"})
            out["topic_set_alice"] = await alice.room_put_state(
                room_id, "m.room.topic", {"topic": "new topic"}
            )
            out["topic"] = await bob.room_get_state_event(room_id, "m.room.topic")
            out["name"] = await bob.set_displayname("Bobby")
            out["bob_member"] = await alice.room_get_state_event(
                room_id, "m.room.member", "@bob:localhost"
            )
            out["joined"] = await bob.joined_rooms()
            out["members"] = await alice.joined_members(room_id)
            out["left"] = await bob.room_leave(room_id)
            return out
        finally:
            await alice.close()
            await bob.close()

    out = await run_asyncio(session)
    assert isinstance(out["invite"], nio.RoomInviteResponse), out["invite"]
    assert isinstance(out["join"], nio.JoinResponse), out["join"]
    seen = out["bob_sees"]
    assert isinstance(seen, nio.RoomGetEventResponse), seen
    assert seen.event.body == "hi bob"
    assert isinstance(out["redact"], nio.RoomRedactResponse), out["redact"]
    redacted = out["after_redact"]
    assert isinstance(redacted, nio.RoomGetEventResponse), redacted
    assert redacted.event.source["content"] == {}
    assert "redacted_because" in redacted.event.source["unsigned"]
    # bob (power 0) may not set the topic (state_default 50); alice may.
    assert isinstance(out["topic_set"], nio.RoomPutStateError)
    assert isinstance(out["topic_set_alice"], nio.RoomPutStateResponse)
    assert out["topic"].content == {"topic": "new topic"}
    assert isinstance(out["name"], nio.ProfileSetDisplayNameResponse)
    assert out["bob_member"].content == {"membership": "join", "displayname": "Bobby"}
    assert isinstance(out["joined"], nio.JoinedRoomsResponse)
    assert len(out["joined"].rooms) == 1
    names = {m.user_id: m.display_name for m in out["members"].members}
    assert names == {"@alice:localhost": "alice", "@bob:localhost": "Bobby"}
    assert isinstance(out["left"], nio.RoomLeaveResponse)
