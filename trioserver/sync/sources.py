"""The optional collaborators of ``/sync`` (typing, receipts, presence,
unread counts): each is held in :class:`SyncSources`; None leaves its
section empty. Described as protocols so sync depends on their shape only.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol


class TypingSource(Protocol):
    @property
    def position(self) -> int: ...
    def users_typing(self, room_id: str) -> list[str]: ...
    def rooms_changed(self, since_position: int) -> set[str]: ...


class ReceiptsSource(Protocol):
    @property
    def position(self) -> int: ...
    async def receipts_for_sync(
        self, user_id: str, room_ids: Iterable[str], from_position: int, to_position: int
    ) -> dict[str, dict[str, Any]]: ...


class PresenceSource(Protocol):
    @property
    def position(self) -> int: ...
    def syncing(
        self, user_id: str, set_presence: str | None
    ) -> AbstractAsyncContextManager[None]: ...
    async def presence_events_for(
        self, user_id: str, from_position: int, to_position: int
    ) -> list[dict[str, Any]]: ...


class UnreadSource(Protocol):
    async def unread_counts(
        self, user_id: str, room_ids: Iterable[str], *, threaded: bool = True
    ) -> dict[str, dict[str, Any]]: ...


@dataclass(slots=True)
class SyncSources:
    typing: TypingSource | None = None
    receipts: ReceiptsSource | None = None
    presence: PresenceSource | None = None
    unread: UnreadSource | None = None
