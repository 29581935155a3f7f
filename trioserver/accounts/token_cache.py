"""Who holds an access token, remembered between requests.

Every authenticated request asks who holds its token; the answer changes
only when tokens are deleted (logout, device deletion, password change,
refresh) or the holder changes (deactivation, guest upgrade). Those changes
are all made by :class:`~trioserver.accounts.service.Accounts` and
:class:`~trioserver.accounts.devices.Devices` in this process (no CLI
command touches tokens), and each calls :meth:`TokenCache.invalidate` once
its write has committed.

The lookup that fills it reads the database synchronously
(:meth:`~trioserver.db.Database.read_now`), so no invalidation can fall
between its read and its :meth:`TokenCache.put`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from trioserver.db import Database
from trioserver.db.accounts import TokenOwner
from trioserver.util.lru import LRU

T = TypeVar("T")


class TokenCache(LRU[bytes, TokenOwner]):
    """A bounded LRU of token hash -> holder, emptied on every change."""

    def __init__(self, size: int = 10_000) -> None:
        super().__init__(size)

    async def write(self, db: Database, fn: Callable[..., T], *args: Any) -> T:
        """``db.run_write(fn, *args)`` for a write that changes tokens or
        their holders; invalidates once it is over (committed or not)."""
        try:
            return await db.run_write(fn, *args)
        finally:
            self.invalidate()

    def invalidate(self) -> None:
        """Tokens or their holders changed (committed): forget every answer."""
        self.clear()
