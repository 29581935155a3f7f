"""What goes into the roomserver and what comes back."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class InputKind(enum.Enum):
    #: A local client's event, or a live event from federation: full checks, may
    #: change current state and forward extremities.
    NEW = "new"
    #: An auth or state event fetched from elsewhere: stored without state.
    OUTLIER = "outlier"
    #: History: stored with its state where known, never changes current state.
    BACKFILL = "backfill"


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    #: Stored, but failed the auth rules: never in state, never sent to clients.
    REJECTED = "rejected"
    #: Stored, passed auth at its own position but not against current state:
    #: not sent to clients, not used as a prev event.
    SOFT_FAILED = "soft_failed"
    #: Not stored: malformed, or its signatures do not verify.
    DROPPED = "dropped"
    #: Not stored: some prev events are unknown; federation must fetch them.
    MISSING_PREV_EVENTS = "missing_prev_events"


@dataclass(frozen=True, slots=True)
class InputEvent:
    """An event (PDU dict) to input. ``origin`` is the server it came from
    (None: built locally, so signatures are ours and not re-checked)."""

    kind: InputKind
    pdu: dict[str, Any] = field(repr=False)
    room_version: str
    origin: str | None = None
    #: The state before the event, as (type, state_key) -> event ID, for an
    #: event whose prev events we lack (federation gets it from /state_ids;
    #: every event it names must already be stored, e.g. as an outlier).
    state_before: Mapping[tuple[str, str], str] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class TransactionKey:
    """A client's transaction ID, scoped to its device and request path (spec:
    "Transaction identifiers"). Recorded in the same commit as the event."""

    user_id: str
    device_id: str
    scope: str
    txn_id: str


@dataclass(frozen=True, slots=True)
class LocalEvent:
    """A local user's event to build (prev events, auth events, depth, signature)
    inside the room's worker, then input as :attr:`InputKind.NEW`."""

    sender: str
    event_type: str
    content: Mapping[str, Any]
    state_key: str | None = None
    redacts: str | None = None
    unsigned: Mapping[str, Any] | None = None
    #: When set, a repeat of the transaction answers the first event, and the
    #: mapping commits together with the event.
    transaction: TransactionKey | None = None


@dataclass(frozen=True, slots=True)
class InputResult:
    event_id: str
    verdict: Verdict
    #: Why it was rejected, soft-failed or dropped.
    reason: str | None = None
    #: Stream position (accepted events only).
    position: int | None = None
    #: True when the event was already stored: this is the earlier verdict.
    duplicate: bool = False
    missing_prev_events: tuple[str, ...] = ()
    #: The PDU as stored (local events: as built and signed).
    pdu: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED
