"""Running blocking work (SQLite calls, password hashing) off the trio thread.

In production a blocking call goes to a worker thread. In the deterministic
mode used under ``MockClock`` it runs inline on the trio thread, so no real
thread can race the mock clock (see ARCHITECTURE.md, "Time and determinism").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import trio

T = TypeVar("T")


class BlockingRunner:
    """Runs a blocking callable either in a thread or inline."""

    def __init__(self, *, inline: bool = False, limiter: trio.CapacityLimiter | None = None):
        self.inline = inline
        self._limiter = limiter

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self.inline:
            await trio.lowlevel.checkpoint()
            return fn(*args)
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)
