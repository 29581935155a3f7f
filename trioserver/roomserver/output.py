"""The roomserver's output stream: what each committed event did, in stream order.

Contract:

* :meth:`OutputStream.publish` is called after the event's transaction has
  committed. Stream positions are dense (1, 2, 3, ...): room workers may
  publish out of order, and :attr:`OutputStream.position` only advances over
  a contiguous run, so a reader that sees position ``p`` can read every
  entry up to ``p``.
* Readers never recompute state: each entry carries the state event IDs the
  event added to and removed from the room's current state.
* Recent entries are served from memory; older ones (or all of them after a
  restart) come from ``catch_up``, which reads the database.
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio


@dataclass(frozen=True, slots=True)
class OutputEvent:
    """One committed, client-visible event and its effect on current state."""

    position: int
    room_id: str
    event_id: str
    room_version: str
    pdu: dict[str, Any] = field(repr=False)
    #: state event IDs this event added to / removed from the room's current state
    adds_state: tuple[str, ...] = ()
    removes_state: tuple[str, ...] = ()
    #: history visibility of the room at this event ("shared" by default)
    history_visibility: str = "shared"
    #: for a redaction: the event it redacted (None when it does not apply yet)
    redacts: str | None = None

    @property
    def event_type(self) -> str:
        return str(self.pdu.get("type"))

    @property
    def state_key(self) -> str | None:
        key = self.pdu.get("state_key")
        return key if isinstance(key, str) else None


CatchUp = Callable[[int, int], Awaitable[Sequence[OutputEvent]]]


class OutputStream:
    """In-process stream of :class:`OutputEvent`, with catch-up from storage."""

    def __init__(self, start_position: int, catch_up: CatchUp, *, keep: int = 2000) -> None:
        self._position = start_position
        self._catch_up = catch_up
        self._recent: collections.deque[OutputEvent] = collections.deque(maxlen=keep)
        self._pending: list[tuple[int, OutputEvent]] = []
        self._advanced = trio.Event()

    @property
    def position(self) -> int:
        """The newest position up to which every entry is readable."""
        return self._position

    def publish(self, entry: OutputEvent) -> None:
        """Record a committed entry (any order); wake readers when the contiguous run grows."""
        if entry.position <= self._position:
            return
        heapq.heappush(self._pending, (entry.position, entry))
        moved = False
        while self._pending and self._pending[0][0] == self._position + 1:
            _, ready = heapq.heappop(self._pending)
            self._recent.append(ready)
            self._position = ready.position
            moved = True
        if moved:
            self._advanced.set()
            self._advanced = trio.Event()

    async def wait_beyond(self, position: int) -> int:
        """Wait until :attr:`position` is past ``position``; return it."""
        while self._position <= position:
            await self._advanced.wait()
        return self._position

    async def read(self, after: int, limit: int = 500) -> list[OutputEvent]:
        """Entries with ``after < position <= self.position``, oldest first, at most ``limit``."""
        upto = min(self._position, after + limit)
        if upto <= after:
            return []
        recent = self._recent
        if recent and recent[0].position <= after + 1:
            # Positions in the deque are contiguous: index, don't scan.
            first = recent[0].position
            return [recent[i - first] for i in range(after + 1, upto + 1)]
        return list(await self._catch_up(after, upto))

    async def follow(self, after: int, limit: int = 500) -> AsyncIterator[list[OutputEvent]]:
        """Batches of entries after ``after``, forever (waiting for new ones)."""
        while True:
            await self.wait_beyond(after)
            batch = await self.read(after, limit)
            if batch:
                after = batch[-1].position
                yield batch
