"""Event filters (spec: client-server API, "Filtering";
``definitions/event_filter.yaml`` and ``definitions/room_event_filter.yaml``).

Pure: a filter's JSON in, an immutable filter out; events (client or PDU
form: only ``type``, ``sender``, ``room_id`` and ``content`` are read) in, a
yes/no out. Malformed filters (also filter text that is not JSON) raise
:class:`FilterError`, which the API answers with ``400 M_INVALID_PARAM``.

Matching rules:

* ``types`` / ``not_types``: ``*`` matches any sequence of characters
  (nothing else is special). A type in ``not_types`` is excluded even if it
  is in ``types``. An absent ``types`` includes every type; an empty list
  includes none.
* ``senders`` / ``not_senders``, ``rooms`` / ``not_rooms``: exact IDs, the
  ``not_`` list winning.
* ``contains_url``: ``True`` keeps only events whose ``content`` has a
  ``url`` key, ``False`` only those without; absent: not considered.
* ``lazy_load_members`` / ``include_redundant_members`` /
  ``unread_thread_notifications`` do not filter events: the endpoints read
  them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EventFilter",
    "FilterError",
    "RoomEventFilter",
    "parse_event_filter",
    "parse_room_event_filter",
    "parse_room_event_filter_json",
    "type_matches",
]


class FilterError(ValueError):
    """The filter is malformed."""


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def type_matches(event_type: str, patterns: Sequence[str]) -> bool:
    """Whether ``event_type`` matches one of ``patterns`` (``*``: any characters)."""
    for pattern in patterns:
        if "*" not in pattern:
            if pattern == event_type:
                return True
        elif _glob(pattern).fullmatch(event_type):
            return True
    return False


@dataclass(frozen=True, slots=True)
class EventFilter:
    """An ``EventFilter``: the filter of ``presence`` and ``account_data``,
    and the base of :class:`RoomEventFilter`. ``None``: the list is absent."""

    limit: int | None = None
    types: tuple[str, ...] | None = None
    not_types: tuple[str, ...] = ()
    senders: tuple[str, ...] | None = None
    not_senders: tuple[str, ...] = ()

    def allows_type(self, event_type: str) -> bool:
        if self.not_types and type_matches(event_type, self.not_types):
            return False
        return self.types is None or type_matches(event_type, self.types)

    def allows_sender(self, sender: str) -> bool:
        if sender in self.not_senders:
            return False
        return self.senders is None or sender in self.senders

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` passes the filter (``limit`` aside)."""
        event_type = event.get("type")
        sender = event.get("sender")
        return self.allows_type(event_type if isinstance(event_type, str) else "") and (
            self.allows_sender(sender if isinstance(sender, str) else "")
        )


@dataclass(frozen=True, slots=True)
class RoomEventFilter(EventFilter):
    """A ``RoomEventFilter`` (``/messages``, ``/context``, the ``timeline``
    and ``state`` of ``/sync``)."""

    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    contains_url: bool | None = None
    lazy_load_members: bool = False
    include_redundant_members: bool = False
    unread_thread_notifications: bool = False

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` passes: type, sender, room (when the event
        names one) and ``contains_url``."""
        event_type = event.get("type")
        sender = event.get("sender")
        if not self.allows_type(event_type if isinstance(event_type, str) else ""):
            return False
        if not self.allows_sender(sender if isinstance(sender, str) else ""):
            return False
        room_id = event.get("room_id")
        if isinstance(room_id, str) and not self.allows_room(room_id):
            return False
        if self.contains_url is not None:
            content = event.get("content")
            has_url = isinstance(content, Mapping) and "url" in content
            if has_url != self.contains_url:
                return False
        return True

    @property
    def filters_events(self) -> bool:
        """Whether any event could fail :meth:`matches` (False: skip matching)."""
        return (
            self.types is not None
            or bool(self.not_types)
            or self.senders is not None
            or bool(self.not_senders)
            or self.rooms is not None
            or bool(self.not_rooms)
            or self.contains_url is not None
        )


def _string_list(raw: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FilterError(f"'{key}' must be a list of strings")
    return tuple(value)


def _bool(raw: Mapping[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise FilterError(f"'{key}' must be a boolean")
    return value


def _limit(raw: Mapping[str, Any]) -> int | None:
    value = raw.get("limit")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FilterError("'limit' must be an integer greater than 0")
    return value


def _event_fields(raw: Any) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise FilterError("a filter must be a JSON object")
    return {
        "limit": _limit(raw),
        "types": _string_list(raw, "types"),
        "not_types": _string_list(raw, "not_types") or (),
        "senders": _string_list(raw, "senders"),
        "not_senders": _string_list(raw, "not_senders") or (),
    }


def parse_event_filter(raw: Any) -> EventFilter:
    """An ``EventFilter`` from its JSON (``None``: the empty filter)."""
    return EventFilter(**_event_fields(raw))


def parse_room_event_filter(raw: Any) -> RoomEventFilter:
    """A ``RoomEventFilter`` from its JSON (``None``: the empty filter).
    Unknown keys are ignored; known keys of the wrong shape raise."""
    fields = _event_fields(raw)
    raw = raw or {}
    return RoomEventFilter(
        **fields,
        rooms=_string_list(raw, "rooms"),
        not_rooms=_string_list(raw, "not_rooms") or (),
        contains_url=_bool(raw, "contains_url"),
        lazy_load_members=bool(_bool(raw, "lazy_load_members")),
        include_redundant_members=bool(_bool(raw, "include_redundant_members")),
        unread_thread_notifications=bool(_bool(raw, "unread_thread_notifications")),
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_room_event_filter_json(text: str | None) -> RoomEventFilter:
    """A ``RoomEventFilter`` given as JSON text (the ``filter`` query
    parameter of ``/messages`` and ``/context``); ``None`` or empty text:
    the empty filter."""
    if text is None or not text.strip():
        return RoomEventFilter()
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise FilterError(f"the filter is not JSON: {exc}") from None
    return parse_room_event_filter(raw)
