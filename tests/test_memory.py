"""The allocator tuning the server applies at start."""

from __future__ import annotations

import platform

import pytest
import trio
import trio.testing

from trioserver.util import memory
from trioserver.util.memory import return_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_accepts_the_tuning() -> None:
    assert return_freed_memory() is True


async def test_freed_memory_is_trimmed_every_interval_until_cancelled(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[float, int]] = []

    class FakeLibc:
        def malloc_trim(self, pad: int) -> int:
            calls.append((trio.current_time(), pad))
            return 1

    monkeypatch.setattr(memory, "_glibc", lambda: FakeLibc())
    start = trio.current_time()
    with trio.move_on_after(35):
        await memory.trim_every(10)
    assert [(round(t - start), pad) for t, pad in calls] == [(10, 0), (20, 0), (30, 0)]
