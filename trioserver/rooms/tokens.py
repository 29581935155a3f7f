"""Stream and pagination tokens, opaque to clients.

One room-event stream position orders every client-visible event of the
server (the roomserver assigns them densely at commit). A position ``p``
denotes the point just after the event at ``p``.

* :class:`SyncToken` (``next_batch`` of ``/sync``, ``from``/``to`` of
  ``/keys/changes``): one position per stream, ``s<events>_<typing>_...``.
* A room pagination token (``prev_batch``, ``/messages`` ``start``/``end``)
  is a :class:`SyncToken` too: ``/messages`` reads only its ``events``
  position, so a ``next_batch`` works as a ``from`` (spec: "Syncing" and
  "Getting events for a room").

Parsing an unknown or malformed token raises :class:`InvalidToken`, which the
API answers with ``400 M_INVALID_PARAM`` (never a 500).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"^s(\d{1,18})((?:_\d{1,18}){0,7})$")
STREAMS = (
    "events",
    "typing",
    "receipts",
    "presence",
    "account_data",
    "to_device",
    "device_lists",
    "invites",
)


class InvalidToken(ValueError):
    """Not a token this server issued."""


@dataclass(frozen=True, slots=True)
class SyncToken:
    events: int = 0
    typing: int = 0
    receipts: int = 0
    presence: int = 0
    account_data: int = 0
    to_device: int = 0
    device_lists: int = 0
    invites: int = 0

    def __str__(self) -> str:
        values = [getattr(self, name) for name in STREAMS]
        return "s" + "_".join(str(v) for v in values)

    @classmethod
    def parse(cls, text: str) -> SyncToken:
        """A token we issued; later streams missing from an older format are 0."""
        match = _TOKEN.match(text or "")
        if not match:
            raise InvalidToken(f"unknown token {text[:40]!r}")
        values = [int(match.group(1))]
        if match.group(2):
            values += [int(v) for v in match.group(2)[1:].split("_")]
        return cls(**dict(zip(STREAMS, values, strict=False)))

    def with_(self, **positions: int) -> SyncToken:
        return dataclasses.replace(self, **positions)

    def at_least(self, other: SyncToken) -> SyncToken:
        """The later of each position."""
        return SyncToken(*(max(getattr(self, n), getattr(other, n)) for n in STREAMS))


def room_token(position: int) -> str:
    """A pagination token at room-event position ``position`` (other streams 0)."""
    return str(SyncToken(events=position))
