"""The one source of wall-clock time.

Every timestamp the server writes (``origin_server_ts``, ``last_seen``,
``valid_until_ts`` ...) comes from a :class:`Clock`, so a test can run the
whole server under ``trio.testing.MockClock`` and see an hour pass in
milliseconds. Waiting is never done here: waits go through trio itself.
"""

from __future__ import annotations

import time
from typing import Protocol

import trio


class Clock(Protocol):
    def time_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...


class SystemClock:
    """Wall-clock time from the operating system."""

    def time_ms(self) -> int:
        return time.time_ns() // 1_000_000


class TrioClock:
    """Wall-clock time that follows trio's clock, for tests under ``MockClock``.

    It reads ``epoch_ms`` at the trio time of its creation and then advances
    exactly as ``trio.current_time()`` does, so jumping the mock clock by an
    hour moves every timestamp by an hour.
    """

    def __init__(self, epoch_ms: int | None = None) -> None:
        self._epoch_ms = SystemClock().time_ms() if epoch_ms is None else epoch_ms
        self._trio_start = trio.current_time()

    def time_ms(self) -> int:
        return self._epoch_ms + int((trio.current_time() - self._trio_start) * 1000)
