"""Join, knock, invite, leave, forget, kick, ban, unban and the member lists."""

from __future__ import annotations

from tests.api.rooms_helpers import V3, err, q, user
from trioserver.testing import TestHomeserver


async def test_invite_join_leave_forget(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room()
    assert err(await bob.join(room)) == (403, "M_FORBIDDEN")
    assert (await alice.invite(room, bob.user_id)).json() == {}
    joined = await bob.client.post(f"{V3}/rooms/{q(room)}/join", json_body={"reason": "hi"})
    assert joined.json() == {"room_id": room}
    rooms = await bob.client.get(f"{V3}/joined_rooms")
    assert rooms.json() == {"joined_rooms": [room]}
    assert err(await bob.post(f"/rooms/{q(room)}/forget")) == (400, "M_UNKNOWN")
    assert (await bob.post(f"/rooms/{q(room)}/leave", {"reason": "bye"})).json() == {}
    assert (await bob.client.get(f"{V3}/joined_rooms")).json() == {"joined_rooms": []}
    # Former members see the members as they were when they left.
    members = await bob.client.get(f"{V3}/rooms/{q(room)}/members")
    assert members.status == 200
    by_user = {e["state_key"]: e["content"]["membership"] for e in members.json()["chunk"]}
    assert by_user == {alice.user_id: "join", bob.user_id: "leave"}
    assert (await bob.post(f"/rooms/{q(room)}/leave")).status == 200  # no-op
    assert (await bob.post(f"/rooms/{q(room)}/forget")).json() == {}


async def test_join_by_alias_and_unknown_rooms(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat", room_alias_name="hall")
    joined = await bob.post(f"/join/{q('#hall:localhost')}")
    assert joined.json() == {"room_id": room}
    assert (await bob.post(f"/join/{q(room)}")).json() == {"room_id": room}  # already joined
    assert err(await bob.post(f"/join/{q('#nope:localhost')}")) == (404, "M_NOT_FOUND")
    assert err(await bob.post(f"/join/{q('!remote:elsewhere.example')}")) == (404, "M_NOT_FOUND")
    assert err(await bob.join("!unknown:localhost")) == (404, "M_NOT_FOUND")
    assert err(await bob.post(f"/join/{q('not-a-room')}")) == (400, "M_INVALID_PARAM")
    assert err(await bob.post(f"/rooms/{q('!unknown:localhost')}/leave")) == (404, "M_NOT_FOUND")


async def test_knock(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(
        initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}]
    )
    knocked = await bob.post(f"/knock/{q(room)}", {"reason": "let me in"})
    assert knocked.json() == {"room_id": room}
    state = await alice.client.get(f"{V3}/rooms/{q(room)}/state/m.room.member/{q(bob.user_id)}")
    assert state.json() == {"membership": "knock", "displayname": "bob", "reason": "let me in"}
    closed = await alice.create_room()
    assert err(await bob.post(f"/knock/{q(closed)}")) == (403, "M_FORBIDDEN")
    assert err(await bob.post(f"/knock/{q('!nope:localhost')}")) == (404, "M_NOT_FOUND")


async def test_kick_ban_unban(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    assert err(await bob.post(f"/rooms/{q(room)}/kick", {"user_id": alice.user_id})) == (
        403,
        "M_FORBIDDEN",
    )
    kicked = await alice.post(f"/rooms/{q(room)}/kick", {"user_id": bob.user_id, "reason": "r"})
    assert kicked.json() == {}
    member = await alice.client.get(f"{V3}/rooms/{q(room)}/state/m.room.member/{q(bob.user_id)}")
    assert member.json() == {"membership": "leave", "reason": "r"}
    assert (await alice.post(f"/rooms/{q(room)}/ban", {"user_id": bob.user_id})).status == 200
    assert err(await bob.join(room)) == (403, "M_FORBIDDEN")
    assert (await alice.post(f"/rooms/{q(room)}/unban", {"user_id": bob.user_id})).status == 200
    assert err(await alice.post(f"/rooms/{q(room)}/unban", {"user_id": bob.user_id})) == (
        403,
        "M_FORBIDDEN",
    )
    assert (await bob.join(room)).status == 200
    for path in ("kick", "ban", "unban", "invite"):
        assert err(await alice.post(f"/rooms/{q(room)}/{path}", {})) == (400, "M_MISSING_PARAM")
        bad = await alice.post(f"/rooms/{q(room)}/{path}", {"user_id": "x"})
        assert err(bad) == (400, "M_INVALID_PARAM")


async def test_member_lists(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    carol = await user(homeserver, "carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await alice.invite(room, carol.user_id)
    members = f"{V3}/rooms/{q(room)}/members"

    async def users(query: dict[str, str]) -> set[str]:
        response = await alice.client.get(members, query=query)
        assert response.status == 200, response.json()
        return {e["state_key"] for e in response.json()["chunk"]}

    everyone = {alice.user_id, bob.user_id, carol.user_id}
    assert await users({}) == everyone
    assert await users({"membership": "invite"}) == {carol.user_id}
    assert await users({"not_membership": "join"}) == {carol.user_id}
    assert await users({"membership": "invite", "not_membership": "invite"}) == everyone
    assert err(await alice.client.get(members, query={"membership": "x"})) == (
        400,
        "M_INVALID_PARAM",
    )
    assert err(await alice.client.get(members, query={"at": "garbage"})) == (
        400,
        "M_INVALID_PARAM",
    )
    assert err(await carol.client.get(f"{V3}/rooms/{q(room)}/joined_members")) == (
        403,
        "M_FORBIDDEN",
    )
    assert err(await carol.client.get(f"{V3}/rooms/{q('!x:localhost')}/members")) == (
        403,
        "M_FORBIDDEN",
    )
    joined = await alice.client.get(f"{V3}/rooms/{q(room)}/joined_members")
    assert joined.json() == {
        "joined": {alice.user_id: {"display_name": "alice"}, bob.user_id: {"display_name": "bob"}}
    }


async def test_members_at_token(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    position = homeserver.services.roomserver.output.position
    await bob.join(room)
    early = await alice.client.get(f"{V3}/rooms/{q(room)}/members", query={"at": f"s{position}"})
    assert {e["state_key"] for e in early.json()["chunk"]} == {alice.user_id}


async def test_profile_change_and_deactivation_update_rooms(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    put = await bob.client.put(
        f"{V3}/profile/{q(bob.user_id)}/displayname", json_body={"displayname": "Bobby"}
    )
    assert put.status == 200
    member = await alice.client.get(f"{V3}/rooms/{q(room)}/state/m.room.member/{q(bob.user_id)}")
    assert member.json() == {"membership": "join", "displayname": "Bobby"}
    await homeserver.services.hooks.user_deactivated(bob.user_id)
    member = await alice.client.get(f"{V3}/rooms/{q(room)}/state/m.room.member/{q(bob.user_id)}")
    assert member.json() == {"membership": "leave"}
