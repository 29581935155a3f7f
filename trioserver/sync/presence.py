"""Presence (client-server API, "Presence"), kept in memory.

Contract:

* Each change of a user's presence takes the next position of the
  ``presence`` stream and wakes the users sharing a joined room with them
  (and themselves).
* ``/sync`` calls :meth:`PresenceTracker.user_syncing` at every request:
  ``set_presence`` ``online`` (the default) brings an offline user online,
  ``unavailable`` sets them unavailable, ``offline`` leaves their presence
  alone (and does not count as syncing).
* Timers on the trio clock (:meth:`PresenceTracker.run`): an online user
  with no activity for :data:`IDLE_AFTER_MS` becomes ``unavailable``; a user
  not seen (no sync, no presence update) for :data:`OFFLINE_AFTER_MS`
  becomes ``offline``. Activity is an explicit ``online`` presence update,
  coming back online through ``/sync``, or :meth:`user_active`.
* Presence is not persisted: after a restart everyone is offline until
  they sync again.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from trioserver.db import Database
from trioserver.db.presence import users_sharing_room_txn
from trioserver.sync.notifier import Notifier
from trioserver.util.clock import Clock

ONLINE = "online"
UNAVAILABLE = "unavailable"
OFFLINE = "offline"
STATES = (ONLINE, UNAVAILABLE, OFFLINE)

#: Online users with no activity for this long become unavailable.
IDLE_AFTER_MS = 5 * 60_000
#: Users not seen (sync or presence update) for this long become offline.
OFFLINE_AFTER_MS = 60_000
#: ``currently_active`` while the last activity is this recent.
CURRENTLY_ACTIVE_MS = 60_000


@dataclass(slots=True)
class _Presence:
    state: str = OFFLINE
    status_msg: str | None = None
    last_active_ms: int | None = None
    active_at: float = -math.inf  #: trio time of the last activity
    seen_at: float = -math.inf  #: trio time of the last sync or update
    position: int = 0
    open_syncs: int = 0  #: long-polls open now: the user is not gone while one is


class PresenceTracker:
    def __init__(self, db: Database, notifier: Notifier, clock: Clock) -> None:
        self._db = db
        self._notifier = notifier
        self._clock = clock
        self._users: dict[str, _Presence] = {}
        self.position = 0
        self._rearm = trio.Event()

    # -- changes -----------------------------------------------------------

    async def set_presence(
        self, user_id: str, state: str, status_msg: str | None = None, *, keep_status: bool = False
    ) -> None:
        """An explicit update (``PUT /presence/{userId}/status``). ``online``
        counts as activity. ``keep_status``: leave ``status_msg`` unchanged."""
        if state not in STATES:
            raise ValueError(f"unknown presence {state!r}")
        entry = self._users.setdefault(user_id, _Presence())
        entry.seen_at = trio.current_time()
        if state == ONLINE:
            self._activity(entry)
        new_status = entry.status_msg if keep_status else status_msg
        await self._change(user_id, entry, state, new_status)

    async def user_syncing(self, user_id: str, set_presence: str | None) -> None:
        """Called at every ``/sync`` with its ``set_presence`` parameter."""
        wanted = set_presence or ONLINE
        if wanted == OFFLINE:
            return
        entry = self._users.setdefault(user_id, _Presence())
        entry.seen_at = trio.current_time()
        self._rearm.set()
        if wanted == UNAVAILABLE and entry.state != UNAVAILABLE:
            await self._change(user_id, entry, UNAVAILABLE, entry.status_msg)
        elif wanted == ONLINE and entry.state == OFFLINE:
            self._activity(entry)
            await self._change(user_id, entry, ONLINE, entry.status_msg)

    @asynccontextmanager
    async def syncing(self, user_id: str, set_presence: str | None) -> AsyncIterator[None]:
        """Around a whole ``/sync`` request: the user counts as present while it
        is open (a 30-minute long-poll never times them out to offline); the
        offline clock starts when their last open request ends."""
        await self.user_syncing(user_id, set_presence)
        entry = self._users.setdefault(user_id, _Presence())
        entry.open_syncs += 1
        try:
            yield
        finally:
            entry.open_syncs -= 1
            entry.seen_at = trio.current_time()
            self._rearm.set()

    async def user_active(self, user_id: str) -> None:
        """The user did something (sent an event...): back online if idle."""
        entry = self._users.setdefault(user_id, _Presence())
        entry.seen_at = trio.current_time()
        self._activity(entry)
        if entry.state != ONLINE:
            await self._change(user_id, entry, ONLINE, entry.status_msg)

    def _activity(self, entry: _Presence) -> None:
        entry.active_at = trio.current_time()
        entry.last_active_ms = self._clock.time_ms()
        self._rearm.set()

    async def _change(self, user_id: str, entry: _Presence, state: str, status: str | None) -> None:
        if (state, status) == (entry.state, entry.status_msg) and entry.position:
            return
        entry.state, entry.status_msg = state, status
        self.position += 1
        entry.position = self.position
        position = self.position
        self._rearm.set()
        users = await self._db.run_read(users_sharing_room_txn, user_id)
        users.add(user_id)
        self._notifier.advance("presence", position, users)

    # -- reads -------------------------------------------------------------

    def presence_of(self, user_id: str) -> dict[str, Any]:
        """The ``m.presence`` content of ``user_id`` (offline when unknown)."""
        entry = self._users.get(user_id) or _Presence()
        content: dict[str, Any] = {"presence": entry.state}
        if entry.last_active_ms is not None:
            ago = max(0, self._clock.time_ms() - entry.last_active_ms)
            content["last_active_ago"] = ago
            content["currently_active"] = entry.state == ONLINE and ago < CURRENTLY_ACTIVE_MS
        if entry.status_msg is not None:
            content["status_msg"] = entry.status_msg
        return content

    async def presence_events_for(
        self, user_id: str, from_position: int, to_position: int
    ) -> list[dict[str, Any]]:
        """``m.presence`` events of the users whose presence changed in
        ``(from_position, to_position]`` and who share a room with
        ``user_id`` (or are ``user_id``)."""
        changed = [u for u, e in self._users.items() if from_position < e.position <= to_position]
        if not changed:
            return []
        others = [u for u in changed if u != user_id]
        # Index lookups for a few users: at once, not on a reader thread.
        visible = self._db.read_now(users_sharing_room_txn, user_id, others) if others else set()
        if user_id in changed:
            visible.add(user_id)
        return [
            {"type": "m.presence", "sender": u, "content": self.presence_of(u)}
            for u in sorted(visible, key=lambda u: self._users[u].position)
            if u in self._users
        ]

    async def may_see(self, viewer: str, user_id: str) -> bool:
        """Whether ``viewer`` may see ``user_id``'s presence (themselves, or a shared room)."""
        if viewer == user_id:
            return True
        return bool(await self._db.run_read(users_sharing_room_txn, viewer, [user_id]))

    # -- timers ------------------------------------------------------------

    def _deadlines(self) -> Iterable[float]:
        for entry in self._users.values():
            if entry.state == ONLINE:
                yield entry.active_at + IDLE_AFTER_MS / 1000
            if entry.state != OFFLINE and not entry.open_syncs:
                yield entry.seen_at + OFFLINE_AFTER_MS / 1000

    def _due(self, entry: _Presence, now: float) -> str | None:
        gone = not entry.open_syncs and now >= entry.seen_at + OFFLINE_AFTER_MS / 1000
        if entry.state != OFFLINE and gone:
            return OFFLINE
        if entry.state == ONLINE and now >= entry.active_at + IDLE_AFTER_MS / 1000:
            return UNAVAILABLE
        return None

    async def _expire(self) -> None:
        now = trio.current_time()
        for user_id in [u for u, e in self._users.items() if self._due(e, now)]:
            entry = self._users[user_id]
            state = self._due(entry, now)  # again: it may have changed meanwhile
            if state is not None:
                await self._change(user_id, entry, state, entry.status_msg)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Move idle users to unavailable and vanished ones to offline, forever."""
        task_status.started()
        while True:
            self._rearm = trio.Event()
            with trio.move_on_at(min(self._deadlines(), default=math.inf)):
                await self._rearm.wait()
            await self._expire()
