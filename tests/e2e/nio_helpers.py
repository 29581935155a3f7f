"""Running matrix-nio (an asyncio library) against a trioserver from a trio test.

nio runs in its own asyncio event loop in a worker thread and talks to the
server over a real loopback socket, as a user's client would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

T = TypeVar("T")


async def run_asyncio(fn: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine function ``fn`` to completion in a fresh asyncio loop in a thread."""

    def run() -> T:
        async def main() -> T:
            return await fn()

        return asyncio.run(main())

    return await trio.to_thread.run_sync(run)
