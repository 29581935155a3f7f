"""/sync long-polls: only the users an event concerns are woken; timeouts."""

from __future__ import annotations

import time
from typing import Any

import trio
import trio.testing

from tests.api.rooms_helpers import User, user
from tests.sync.sync_helpers import bodies, sync, timeline
from trioserver.testing import TestHomeserver
from trioserver.testing.homeserver import open_test_homeserver

IDLE = 1000


async def test_one_message_wakes_exactly_its_two_members(
    mock_clock: trio.testing.MockClock,
) -> None:
    async with open_test_homeserver() as hs:
        alice = await user(hs, "alice")
        bob = await user(hs, "bob")
        room = await alice.create_room(preset="public_chat")
        assert (await bob.join(room)).status == 200
        idle: list[User] = []
        for i in range(IDLE):
            session = await hs.services.accounts.register(f"idle{i}", None)
            assert session is not None
            idle.append(User(session.user_id, hs.client(session.access_token), session.device_id))
        results: dict[str, dict[str, Any]] = {}

        async def long_poll(u: User) -> None:
            since = (await sync(u))["next_batch"]
            results[u.user_id] = await sync(u, since, timeout_ms=30 * 60 * 1000)

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for u in [*idle, alice, bob]:
                nursery.start_soon(long_poll, u)
            await trio.testing.wait_all_tasks_blocked()
            assert hs.services.notifier.statistics().waiting_users == IDLE + 2
            before = dict(hs.services.notifier.woken)
            await alice.send_ok(room, "hello", "t1")
            await trio.testing.wait_all_tasks_blocked()
            woken = {
                u: n - before.get(u, 0)
                for u, n in hs.services.notifier.woken.items()
                if n != before.get(u, 0)
            }
            assert woken == {alice.user_id: 1, bob.user_id: 1}
            assert set(results) == {alice.user_id, bob.user_id}
            assert bodies(timeline(results[bob.user_id], room)) == ["hello"]
            nursery.cancel_scope.cancel()
        print(f"{IDLE} idle long-polls + 1 message: {time.perf_counter() - started:.2f}s")


async def test_timeout_zero_returns_at_once(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    alice = await user(homeserver, "alice")
    since = (await sync(alice))["next_batch"]
    before = trio.current_time()
    body = await sync(alice, since, timeout_ms=0)
    assert trio.current_time() == before
    assert body["rooms"]["join"] == {}


async def test_thirty_minute_long_poll_times_out_under_mock_clock(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    alice = await user(homeserver, "alice")
    since = (await sync(alice))["next_batch"]
    before = trio.current_time()
    wall = time.perf_counter()
    # (presence would end the wait: the tracker marks a long-polling user
    # offline after a minute; filtered out here)
    no_presence = {"presence": {"not_types": ["*"]}}
    body = await sync(alice, since, timeout_ms=30 * 60 * 1000, filter_=no_presence)
    assert trio.current_time() - before >= 30 * 60
    assert time.perf_counter() - wall < 2
    assert body["rooms"]["join"] == {}
    assert body["next_batch"]


async def test_long_poll_is_woken_by_a_message(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    since = (await sync(bob))["next_batch"]
    got: dict[str, Any] = {}

    async def poll() -> None:
        got.update(await sync(bob, since, timeout_ms=60_000))

    before = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll)
        await trio.sleep(5)
        await alice.send_ok(room, "wake", "t1")
    assert bodies(timeline(got, room)) == ["wake"]
    assert trio.current_time() - before < 60
