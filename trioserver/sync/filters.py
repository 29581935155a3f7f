"""The ``/sync`` filter (spec: client-server API, "Filtering";
``definitions/sync_filter.yaml``): a top-level ``Filter`` built on the
``EventFilter``/``RoomEventFilter`` of :mod:`trioserver.rooms.filters`.

Pure: JSON in, an immutable :class:`SyncFilter` out, or :class:`FilterError`
(the API answers ``400 M_INVALID_PARAM``). Unknown keys are ignored.

* ``event_fields``: dotted paths (``\\.`` escapes a dot) of the fields to
  keep in each event; absent: everything.
* ``event_format``: ``client`` (default) or ``federation`` (the PDU as stored).
* ``room.timeline.limit`` defaults to :data:`DEFAULT_TIMELINE_LIMIT`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trioserver.protocol.property_paths import split_path
from trioserver.rooms.filters import (
    EventFilter,
    FilterError,
    RoomEventFilter,
    parse_event_filter,
    parse_room_event_filter,
)

__all__ = [
    "DEFAULT_TIMELINE_LIMIT",
    "FilterError",
    "RoomFilter",
    "SyncFilter",
    "apply_event_fields",
    "parse_sync_filter",
    "parse_sync_filter_json",
]

DEFAULT_TIMELINE_LIMIT = 10
#: The most timeline events one room returns, whatever the filter asks.
MAX_TIMELINE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class RoomFilter:
    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    include_leave: bool = False
    timeline: RoomEventFilter = field(default_factory=RoomEventFilter)
    state: RoomEventFilter = field(default_factory=RoomEventFilter)
    ephemeral: RoomEventFilter = field(default_factory=RoomEventFilter)
    account_data: RoomEventFilter = field(default_factory=RoomEventFilter)

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    @property
    def timeline_limit(self) -> int:
        limit = self.timeline.limit
        return DEFAULT_TIMELINE_LIMIT if limit is None else min(limit, MAX_TIMELINE_LIMIT)


@dataclass(frozen=True, slots=True)
class SyncFilter:
    event_fields: tuple[tuple[str, ...], ...] | None = None
    event_format: str = "client"
    presence: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)
    room: RoomFilter = field(default_factory=RoomFilter)


def _strings(raw: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FilterError(f"'{key}' must be a list of strings")
    return tuple(value)


def _object(raw: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, Mapping):
        raise FilterError(f"'{key}' must be an object")
    return value


def parse_sync_filter(raw: Any) -> SyncFilter:
    """A :class:`SyncFilter` from its JSON (``None``: the empty filter)."""
    if raw is None:
        return SyncFilter()
    if not isinstance(raw, Mapping):
        raise FilterError("a filter must be a JSON object")
    fields = _strings(raw, "event_fields")
    event_format = raw.get("event_format", "client")
    if event_format not in ("client", "federation"):
        raise FilterError("'event_format' must be 'client' or 'federation'")
    room_raw = _object(raw, "room") or {}
    include_leave = room_raw.get("include_leave", False)
    if not isinstance(include_leave, bool):
        raise FilterError("'include_leave' must be a boolean")
    room = RoomFilter(
        rooms=_strings(room_raw, "rooms"),
        not_rooms=_strings(room_raw, "not_rooms") or (),
        include_leave=include_leave,
        timeline=parse_room_event_filter(_object(room_raw, "timeline")),
        state=parse_room_event_filter(_object(room_raw, "state")),
        ephemeral=parse_room_event_filter(_object(room_raw, "ephemeral")),
        account_data=parse_room_event_filter(_object(room_raw, "account_data")),
    )
    return SyncFilter(
        event_fields=None if fields is None else tuple(split_path(f) for f in fields),
        event_format=event_format,
        presence=parse_event_filter(_object(raw, "presence")),
        account_data=parse_event_filter(_object(raw, "account_data")),
        room=room,
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@functools.lru_cache(maxsize=1024)
def parse_sync_filter_json(text: str) -> SyncFilter:
    """A filter given inline as JSON text (the ``filter`` query parameter).
    Remembered: a client sends the same filter with every sync, and filters
    are immutable."""
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise FilterError(f"the filter is not JSON: {exc}") from None
    return parse_sync_filter(raw)


def apply_event_fields(
    event: Mapping[str, Any], paths: tuple[tuple[str, ...], ...] | None
) -> dict[str, Any]:
    """``event`` with only the fields ``paths`` name (None: all of them)."""
    if paths is None:
        return dict(event)
    out: dict[str, Any] = {}
    for path in paths:
        source: Any = event
        for part in path:
            if not isinstance(source, Mapping) or part not in source:
                break
            source = source[part]
        else:
            target = out
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = source
    return out
