"""Per-user wake-ups for long-polling ``/sync``.

Contract (STYLE 8: read the position, then wait; send positions, not data):

* Every stream (room events, typing, receipts, ...) has a position that only
  grows. Whoever commits a change calls :meth:`Notifier.advance` with the
  stream, its new position and exactly the users the change concerns.
* A waiting ``/sync`` takes its user's wake-up *before* it reads positions:

      wake = notifier.wake_up(user_id)
      token = notifier.current_token()
      ... compute the response for since..token; if empty:
      with trio.move_on_after(timeout):
          await wake.wait()

  so a change committed after the read always wakes it; nothing is lost.
* Only the users named are woken: an event in a two-member room wakes two
  long-polls, not a thousand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import trio

from trioserver.rooms.tokens import STREAMS, SyncToken


@dataclass(frozen=True, slots=True)
class NotifierStatistics:
    waiting_users: int  #: users with at least one wake-up handed out and not yet fired
    wakeups: int  #: wake-ups fired in total (one per woken user per advance)


class Notifier:
    def __init__(self, start: SyncToken | None = None) -> None:
        self._token = start or SyncToken()
        self._wake: dict[str, trio.Event] = {}
        self._wakeups = 0
        #: for tests and metrics: how often each user was woken
        self.woken: dict[str, int] = {}

    def current_token(self) -> SyncToken:
        return self._token

    def wake_up(self, user_id: str) -> trio.Event:
        """The event that fires on the next change concerning ``user_id``."""
        event = self._wake.get(user_id)
        if event is None:
            event = self._wake[user_id] = trio.Event()
        return event

    def advance(self, stream: str, position: int, user_ids: Iterable[str]) -> None:
        """``stream`` reached ``position`` (after commit); wake the users it concerns."""
        if stream not in STREAMS:
            raise ValueError(f"unknown stream {stream!r}")
        if position > getattr(self._token, stream):
            self._token = dataclasses.replace(self._token, **{stream: position})
        for user_id in set(user_ids):
            event = self._wake.pop(user_id, None)
            if event is not None:
                event.set()
                self._wakeups += 1
                self.woken[user_id] = self.woken.get(user_id, 0) + 1

    def wake_everyone(self) -> None:
        """Shutdown: let every long-poll return now."""
        for event in self._wake.values():
            event.set()
        self._wake.clear()

    def statistics(self) -> NotifierStatistics:
        return NotifierStatistics(waiting_users=len(self._wake), wakeups=self._wakeups)
