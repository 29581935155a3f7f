"""The notifier wakes exactly the users a change concerns, and never loses one."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioserver.rooms.tokens import SyncToken
from trioserver.sync.notifier import Notifier


async def test_a_change_wakes_exactly_the_users_it_names(
    autojump_clock: trio.testing.MockClock,
) -> None:
    notifier = Notifier()
    returned: list[str] = []

    async def long_poll(user: str) -> None:
        wake = notifier.wake_up(user)
        with trio.move_on_after(30):
            await wake.wait()
            returned.append(user)

    async with trio.open_nursery() as nursery:
        for n in range(1000):
            nursery.start_soon(long_poll, f"@user{n}:test")
        await trio.testing.wait_all_tasks_blocked()
        notifier.advance("events", 1, ["@user1:test", "@user2:test"])
        await trio.testing.wait_all_tasks_blocked()
        assert sorted(returned) == ["@user1:test", "@user2:test"]
        assert notifier.statistics().wakeups == 2
    assert len(returned) == 2  # the others timed out after 30 (mock) seconds


async def test_a_change_between_reading_and_waiting_is_not_lost(
    autojump_clock: trio.testing.MockClock,
) -> None:
    notifier = Notifier()
    wake = notifier.wake_up("@a:test")  # taken first...
    seen = notifier.current_token()  # ...then the position is read
    notifier.advance("typing", 5, ["@a:test"])  # a change lands before we wait
    with trio.fail_after(1):
        await wake.wait()  # returns at once
    assert notifier.current_token() == seen.with_(typing=5)


def test_positions_only_grow_and_unknown_streams_are_refused() -> None:
    notifier = Notifier(SyncToken(events=10))
    notifier.advance("events", 7, [])
    assert notifier.current_token().events == 10
    with pytest.raises(ValueError):
        notifier.advance("nonsense", 1, [])
