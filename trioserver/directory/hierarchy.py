"""Walking a space tree for ``GET /rooms/{roomId}/hierarchy`` (spec:
client-server API, "Spaces", and ``space_hierarchy.yaml``).

Pure: the caller looks rooms up and feeds them in. The walk is depth-first:
a space's children are visited in the spec's order ("Ordering of children
within a space"), each child's own children before its next sibling. A room
is visited once even if the tree loops or lists it twice. Rooms at
``max_depth`` are returned without their children.

The walk's remaining stack and the rooms already visited travel in the
``next_batch`` token (base64 of JSON), together with the request's
``suggested_only`` and ``max_depth``, which may not change between pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trioserver.protocol.errors import MatrixError

__all__ = ["Child", "Walk", "child_of", "order_children", "valid_order"]

#: The spec's bound on ``order`` (``m.space.child``): at most 50 characters
#: between ``\x20`` and ``\x7E``.
MAX_ORDER_LENGTH = 50


def valid_order(value: object) -> str | None:
    """The child's ``order`` if it is valid, else None."""
    if not isinstance(value, str) or len(value) > MAX_ORDER_LENGTH:
        return None
    if any(not 0x20 <= ord(char) <= 0x7E for char in value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class Child:
    """One valid ``m.space.child`` entry of a space."""

    room_id: str
    order: str | None
    origin_server_ts: int
    suggested: bool
    #: The stripped state event served in ``children_state``.
    stripped: dict[str, Any] = field(compare=False)


def child_of(pdu: Mapping[str, Any]) -> Child | None:
    """The child an ``m.space.child`` event names, or None if it is not a
    valid one (no state key, or a ``via`` that is missing, empty or not a
    list of strings)."""
    state_key = pdu.get("state_key")
    content = pdu.get("content")
    if pdu.get("type") != "m.space.child" or not isinstance(state_key, str) or not state_key:
        return None
    if not isinstance(content, Mapping):
        return None
    via = content.get("via")
    if not isinstance(via, list) or not via or not all(isinstance(v, str) for v in via):
        return None
    ts = pdu.get("origin_server_ts")
    ts = ts if isinstance(ts, int) and not isinstance(ts, bool) else 0
    stripped = {
        "type": "m.space.child",
        "state_key": state_key,
        "content": dict(content),
        "sender": pdu.get("sender"),
        "origin_server_ts": ts,
    }
    return Child(
        room_id=state_key,
        order=valid_order(content.get("order")),
        origin_server_ts=ts,
        suggested=content.get("suggested") is True,
        stripped=stripped,
    )


def order_children(children: Iterable[Child]) -> list[Child]:
    """The spec's order: children with a valid ``order`` first, by it; then
    by the event's ``origin_server_ts``; ties by room ID."""
    return sorted(
        children,
        key=lambda c: (c.order is None, c.order or "", c.origin_server_ts, c.room_id),
    )


@dataclass
class Walk:
    """The state of one paginated walk from ``root``."""

    root: str
    suggested_only: bool
    max_depth: int
    #: Rooms still to visit, the next one last: ``(room_id, depth)``.
    stack: list[tuple[str, int]]
    visited: set[str]

    @classmethod
    def start(cls, root: str, *, suggested_only: bool, max_depth: int) -> Walk:
        return cls(root, suggested_only, max_depth, [(root, 0)], set())

    def next_room(self) -> tuple[str, int] | None:
        """The next room to look at, or None when the walk is over."""
        while self.stack:
            room_id, depth = self.stack.pop()
            if room_id not in self.visited:
                self.visited.add(room_id)
                return room_id, depth
        return None

    def children_to_show(self, children: Sequence[Child]) -> list[Child]:
        """The children a visited space lists (only suggested ones if asked), in order."""
        return order_children(c for c in children if c.suggested or not self.suggested_only)

    def descend(self, depth: int, children: Sequence[Child]) -> None:
        """Queue a visited space's children (which the caller got from
        :meth:`children_to_show`), unless ``depth`` is the maximum."""
        if depth >= self.max_depth:
            return
        for child in reversed(children):
            if child.room_id not in self.visited:
                self.stack.append((child.room_id, depth + 1))

    @property
    def done(self) -> bool:
        return not any(room_id not in self.visited for room_id, _ in self.stack)

    def token(self) -> str:
        payload = {
            "r": self.root,
            "s": self.suggested_only,
            "d": self.max_depth,
            "q": [[room_id, depth] for room_id, depth in self.stack],
            "v": sorted(self.visited),
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def resume(cls, token: str, root: str, *, suggested_only: bool, max_depth: int) -> Walk:
        """The walk a ``next_batch`` token continues; ``400 M_INVALID_PARAM``
        for a token that is not ours or whose parameters changed."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            stack = [(str(r), int(d)) for r, d in payload["q"] if isinstance(r, str)]
            visited = {str(v) for v in payload["v"] if isinstance(v, str)}
            ok = (
                payload["r"] == root
                and isinstance(payload["s"], bool)
                and isinstance(payload["d"], int)
            )
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise MatrixError("M_INVALID_PARAM", "Unknown pagination token") from None
        if not ok:
            raise MatrixError("M_INVALID_PARAM", "Unknown pagination token")
        if payload["s"] != suggested_only or payload["d"] != max_depth:
            raise MatrixError(
                "M_INVALID_PARAM",
                "suggested_only and max_depth cannot change on paginated requests",
            )
        return cls(root, suggested_only, max_depth, stack, visited)
