"""Typing notifications (client-server API, "Typing Notifications"), in memory.

Contract:

* :meth:`TypingTracker.set_typing` starts (or refreshes) or stops a user's
  typing in a room. Only a change of who is typing takes a new position of
  the ``typing`` stream and wakes the room's joined members (a refresh moves
  only the expiry).
* A typing notification expires ``timeout_ms`` after it was set (capped at
  :data:`MAX_TIMEOUT_MS`); :meth:`run` removes expired ones on the trio clock.
* ``/sync`` asks :meth:`rooms_changed` which rooms changed after its
  position and :meth:`users_typing` who types there now.
"""

from __future__ import annotations

import math

import trio

from trioserver.db import Database
from trioserver.db.roomserver_current import members_txn
from trioserver.sync.notifier import Notifier

#: Longest a typing notification lasts without a refresh.
MAX_TIMEOUT_MS = 120_000


class TypingTracker:
    def __init__(self, db: Database, notifier: Notifier) -> None:
        self._db = db
        self._notifier = notifier
        #: room_id -> {user_id: trio deadline}
        self._typing: dict[str, dict[str, float]] = {}
        #: room_id -> position of its latest change
        self._changed_at: dict[str, int] = {}
        self.position = 0
        self._rearm = trio.Event()

    def users_typing(self, room_id: str) -> list[str]:
        """Who types in the room now, sorted."""
        return sorted(self._typing.get(room_id, {}))

    def rooms_changed(self, since_position: int) -> set[str]:
        """Rooms whose typing users changed after ``since_position``."""
        return {room for room, pos in self._changed_at.items() if pos > since_position}

    async def set_typing(self, room_id: str, user_id: str, typing: bool, timeout_ms: int) -> None:
        """Start (``typing``) or stop ``user_id`` typing in ``room_id``; the
        caller has checked that the user is joined."""
        users = self._typing.setdefault(room_id, {})
        if typing:
            deadline = trio.current_time() + min(max(timeout_ms, 0), MAX_TIMEOUT_MS) / 1000
            changed = user_id not in users
            users[user_id] = deadline
            self._rearm.set()
        else:
            changed = users.pop(user_id, None) is not None
        if not users:
            del self._typing[room_id]
        if changed:
            await self._changed(room_id)

    async def _changed(self, room_id: str) -> None:
        self.position += 1
        self._changed_at[room_id] = self.position
        position = self.position
        members = await self._db.run_read(members_txn, room_id)
        self._notifier.advance("typing", position, members)

    def _next_deadline(self) -> float:
        return min((d for users in self._typing.values() for d in users.values()), default=math.inf)

    async def _expire(self) -> None:
        now = trio.current_time()
        changed: list[str] = []
        for room_id, users in list(self._typing.items()):
            gone = [u for u, deadline in users.items() if deadline <= now]
            for user_id in gone:
                del users[user_id]
            if not users:
                del self._typing[room_id]
            if gone:
                changed.append(room_id)
        for room_id in changed:
            await self._changed(room_id)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Expire typing notifications at their deadlines, forever."""
        task_status.started()
        while True:
            self._rearm = trio.Event()
            with trio.move_on_at(self._next_deadline()):
                await self._rearm.wait()
            await self._expire()
