"""Typing notifications: the endpoint, the tracker, expiry on the trio clock."""

from __future__ import annotations

import trio
import trio.testing

from tests.api.rooms_helpers import V3, err, q, user
from trioserver.sync.typing import MAX_TIMEOUT_MS
from trioserver.testing import TestHomeserver


def _url(room_id: str, user_id: str) -> str:
    return f"{V3}/rooms/{q(room_id)}/typing/{q(user_id)}"


async def test_typing_expires_exactly(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    tracker = homeserver.services.typing
    notifier = homeserver.services.notifier
    start = tracker.position
    bob_wake = notifier.wake_up(bob.user_id)

    put = await alice.client.put(
        _url(room, alice.user_id), json_body={"typing": True, "timeout": 10_000}
    )
    assert (put.status, put.json()) == (200, {})
    assert tracker.users_typing(room) == [alice.user_id]
    assert tracker.rooms_changed(start) == {room}
    assert bob_wake.is_set()  # a joined member is woken
    assert notifier.current_token().typing == tracker.position == start + 1

    # A refresh moves the expiry only: no new position.
    await trio.sleep(5)
    await alice.client.put(_url(room, alice.user_id), json_body={"typing": True, "timeout": 10_000})
    assert tracker.position == start + 1
    await trio.sleep(9.999)
    await trio.testing.wait_all_tasks_blocked()
    assert tracker.users_typing(room) == [alice.user_id]
    await trio.sleep(0.002)
    await trio.testing.wait_all_tasks_blocked()
    assert tracker.users_typing(room) == []
    assert tracker.position == start + 2
    assert tracker.rooms_changed(start + 1) == {room}


async def test_typing_stop_and_cap(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    tracker = homeserver.services.typing
    await alice.client.put(_url(room, alice.user_id), json_body={"typing": True, "timeout": 10**9})
    before = tracker.position
    # Stopping twice changes once.
    await alice.client.put(_url(room, alice.user_id), json_body={"typing": False})
    await alice.client.put(_url(room, alice.user_id), json_body={"typing": False})
    assert tracker.position == before + 1 and tracker.users_typing(room) == []
    await alice.client.put(_url(room, alice.user_id), json_body={"typing": True, "timeout": 10**9})
    await trio.sleep(MAX_TIMEOUT_MS / 1000)
    await trio.testing.wait_all_tasks_blocked()
    assert tracker.users_typing(room) == []


async def test_typing_errors(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room()
    ok = {"typing": True, "timeout": 1000}
    assert err(await alice.client.put(_url(room, bob.user_id), json_body=ok)) == (
        403,
        "M_FORBIDDEN",
    )
    assert err(await bob.client.put(_url(room, bob.user_id), json_body=ok)) == (403, "M_FORBIDDEN")
    unknown = "!nowhere:localhost"
    assert err(await alice.client.put(_url(unknown, alice.user_id), json_body=ok)) == (
        404,
        "M_NOT_FOUND",
    )
    assert err(await alice.client.put(_url("nope", alice.user_id), json_body=ok))[0] == 400
    for body in (
        {},
        {"typing": "yes"},
        {"typing": True, "timeout": "1"},
        {"typing": True, "timeout": -1},
    ):
        assert err(await alice.client.put(_url(room, alice.user_id), json_body=body))[0] == 400
    bad_json = await alice.client.put(_url(room, alice.user_id), data=b"[1")
    assert err(bad_json) == (400, "M_NOT_JSON")
    assert (await homeserver.client().put(_url(room, alice.user_id), json_body=ok)).status == 401
