"""One homeserver under benchmark, as the workloads see it: its HTTP client,
a pool of registered users, and what one workload leaves for another."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import trio

from bench.compare.client import Http, Session
from bench.compare.processes import Server

__all__ = ["Target"]

#: Registrations in flight at once while filling the pool (password hashing
#: dominates; both servers hash on a thread pool, the machine has 2 cores).
REGISTER_CONCURRENCY = 4


@dataclass
class Target:
    """A server plus the users and rooms the workloads made on it."""

    server: Server
    http: Http
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    pool: list[Session] = field(default_factory=list)
    #: Setups shared between repetitions or workloads (e.g. the 1,000-message room).
    state: dict[str, Any] = field(default_factory=dict)
    messages_sent: int = 0
    _names: int = 0

    @property
    def name(self) -> str:
        return self.server.name

    def fresh_name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self.tag}x{self._names}"

    async def register(self, count: int, prefix: str = "u") -> list[Session]:
        """``count`` new users, registered ``REGISTER_CONCURRENCY`` at a time."""
        sessions: list[Session | None] = [None] * count
        limiter = trio.CapacityLimiter(REGISTER_CONCURRENCY)

        async def one(i: int) -> None:
            async with limiter:
                sessions[i] = await self.http.register(self.fresh_name(prefix))

        async with trio.open_nursery() as nursery:
            for i in range(count):
                nursery.start_soon(one, i)
        return [s for s in sessions if s is not None]

    async def users(self, count: int) -> list[Session]:
        """The first ``count`` users of the pool, registering any missing."""
        if len(self.pool) < count:
            self.pool.extend(await self.register(count - len(self.pool)))
        return self.pool[:count]

    async def room_with(self, members: list[Session], **create: Any) -> str:
        """A public room created by ``members[0]`` and joined by the others."""
        room_id = await self.http.create_room(members[0], **create)
        limiter = trio.CapacityLimiter(8)

        async def join(session: Session) -> None:
            async with limiter:
                await self.http.join(session, room_id)

        async with trio.open_nursery() as nursery:
            for session in members[1:]:
                nursery.start_soon(join, session)
        return room_id
