"""The room-event follower: wakes exactly the users each committed room
event concerns (STYLE 2 and 8; ARCHITECTURE "The flow of an event").

It follows the roomserver's output stream (handed over by the composition
root as a :class:`RoomOutput`; sync never imports the roomserver) and, per
event, calls ``notifier.advance("events", position, users)`` where
``users`` are:

* the room's joined members (before and after the event), from an
  in-memory ``room -> joined users`` map loaded lazily from the
  ``memberships`` table on the room's first event and then kept up to date
  from the member events that follow;
* for an ``m.room.member`` event, its target (invited, joined, kicked,
  banned, left, knocking), so an invite wakes the invitee.

Invites ride on the ``events`` stream; the token's ``invites`` position is
not used (it stays 0).

A map loaded while the follower lags the database may hold a membership the
stream has not reached yet; the member events in between bring it back in
line, and a user affected by one is woken as its target anyway. Nothing is
persisted: a long-poll exists only in memory, so after a restart the
follower starts at the stream's current position.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from trioserver.db import Database
from trioserver.db.sync_rooms import joined_members_txn
from trioserver.sync.notifier import Notifier

log = logging.getLogger(__name__)


class OutputEntry(Protocol):
    """What the follower reads of one output-stream entry."""

    @property
    def position(self) -> int: ...
    @property
    def room_id(self) -> str: ...
    @property
    def pdu(self) -> Mapping[str, Any]: ...


class RoomOutput(Protocol):
    """The roomserver's output stream, as sync sees it."""

    @property
    def position(self) -> int: ...
    def follow(self, after: int, limit: int = 500) -> AsyncIterator[Sequence[OutputEntry]]: ...


@dataclass(frozen=True, slots=True)
class FollowerStatistics:
    position: int  #: the last stream position handled
    rooms: int  #: rooms whose joined members are held in memory
    events: int  #: events handled since start


class RoomEventFollower:
    def __init__(self, db: Database, output: RoomOutput, notifier: Notifier) -> None:
        self._db = db
        self._output = output
        self._notifier = notifier
        self._joined: dict[str, set[str]] = {}
        self._position = 0
        self._events = 0

    def statistics(self) -> FollowerStatistics:
        return FollowerStatistics(self._position, len(self._joined), self._events)

    async def joined_members(self, room_id: str) -> set[str]:
        members = self._joined.get(room_id)
        if members is None:
            loaded = await self._db.run_read(joined_members_txn, room_id)
            # another task may have loaded it meanwhile: keep the first
            members = self._joined.setdefault(room_id, loaded)
        return members

    async def concerned_users(self, entry: OutputEntry) -> set[str]:
        """The users ``entry`` concerns; updates the joined-members map."""
        members = await self.joined_members(entry.room_id)
        users = set(members)
        pdu = entry.pdu
        target = pdu.get("state_key")
        if pdu.get("type") == "m.room.member" and isinstance(target, str):
            content = pdu.get("content")
            membership = content.get("membership") if isinstance(content, Mapping) else None
            if membership == "join":
                members.add(target)
            else:
                members.discard(target)
            users.add(target)
        return users

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._position = self._output.position
        self._notifier.advance("events", self._position, ())
        task_status.started()
        async for batch in self._output.follow(self._position):
            for entry in batch:
                try:
                    users = await self.concerned_users(entry)
                except Exception:
                    log.exception("sync follower: event at %d in %s", entry.position, entry.room_id)
                    self._joined.pop(entry.room_id, None)
                    users = set()
                self._position = entry.position
                self._events += 1
                self._notifier.advance("events", entry.position, users)
