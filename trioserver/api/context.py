"""What the HTTP handlers reach: the services the composition root built."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

import nacl.signing
from quart import current_app

from trioserver.accounts import Accounts
from trioserver.config import Config
from trioserver.db import Database
from trioserver.roomserver.queries import RoomQueries
from trioserver.roomserver.service import Roomserver
from trioserver.sync.notifier import Notifier
from trioserver.sync.presence import PresenceTracker
from trioserver.sync.receipts import Receipts
from trioserver.sync.service import SyncService
from trioserver.sync.typing import TypingTracker
from trioserver.sync.unread import UnreadCounter
from trioserver.util.clock import Clock
from trioserver.util.ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """Our current signing key and the verify keys of expired ones."""

    key_id: str
    signing_key: nacl.signing.SigningKey
    #: key_id -> (verify key, expired_ts)
    old_verify_keys: dict[str, tuple[nacl.signing.VerifyKey, int]]


async def _nothing(*args: object) -> None:
    return None


@dataclass(slots=True)
class AccountHooks:
    """What other services do when an account changes. The composition root
    sets these once those services exist; each defaults to doing nothing.

    * ``profile_changed(user_id)``: the display name or avatar URL changed.
      The roomserver sends a new ``m.room.member`` event into every room the
      user has joined (spec: "Events on Change of Profile Information").
    * ``user_deactivated(user_id)``: the account was deactivated (its devices,
      tokens and profile are already gone); the roomserver makes the user
      leave their rooms.
    * ``account_data_changed(user_id, stream_pos)``: account data (tags
      included) changed at that stream position; sync wakes the user.

    Hooks run after the change has committed; use :meth:`notify`, which logs
    a failing hook instead of failing the request that made the change.
    """

    profile_changed: Callable[[str], Awaitable[None]] = _nothing
    user_deactivated: Callable[[str], Awaitable[None]] = _nothing
    account_data_changed: Callable[[str, int], Awaitable[None]] = _nothing
    #: ``device_list_changed(user_id)``: the user's devices or keys changed
    #: (committed); sync wakes the users who share a room with them.
    device_list_changed: Callable[[str], Awaitable[None]] = _nothing

    async def notify(self, hook: Callable[..., Awaitable[None]], *args: object) -> None:
        try:
            await hook(*args)
        except Exception:
            log.exception("account hook %s%r failed", getattr(hook, "__name__", hook), args)


@dataclass(frozen=True, slots=True)
class Services:
    config: Config
    clock: Clock
    db: Database
    accounts: Accounts
    signing_keys: SigningKeys
    #: The only place room state is computed: send events through it.
    roomserver: Roomserver
    #: Read-only questions about rooms (string IDs).
    rooms: RoomQueries
    #: Per-user wake-ups of /sync: advance it after each committed change.
    notifier: Notifier
    #: Ephemeral room data and derived counts (typing, receipts, presence, unread).
    typing: TypingTracker
    receipts: Receipts
    presence: PresenceTracker
    unread: UnreadCounter
    #: ``/sync`` (set by the composition root; None only in bare test setups).
    sync: SyncService | None = None
    hooks: AccountHooks = field(default_factory=AccountHooks)
    #: Token buckets of every rate-limited action (see :mod:`trioserver.api.ratelimit`).
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)

    @property
    def server_name(self) -> str:
        return self.config.server_name


_EXTENSION = "trioserver"


def attach(app: object, services: Services) -> None:
    cast("dict[str, object]", app.extensions)[_EXTENSION] = services  # type: ignore[attr-defined]


def services() -> Services:
    """The services of the application handling the current request."""
    return cast(Services, current_app.extensions[_EXTENSION])
