"""Reading the fields of PDUs (events in their federation form) of any room version.

Events are plain dicts. Room versions 1 and 2 cite other events as
``[event_id, {"sha256": ...}]`` pairs and carry their own ``event_id``;
later versions cite plain event ID strings (spec: ``rooms/v1.md`` and
``rooms/v3.md``, "Event format").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trioserver.protocol.room_versions import EventFormat, RoomVersion

JsonDict = dict[str, Any]


def _cited_ids(value: Any) -> list[str]:
    ids: list[str] = []
    if not isinstance(value, list):
        return ids
    for item in value:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, list) and item and isinstance(item[0], str):
            ids.append(item[0])
    return ids


def prev_event_ids(event: Mapping[str, Any]) -> list[str]:
    """The IDs in ``prev_events``, whichever format the event uses."""
    return _cited_ids(event.get("prev_events"))


def auth_event_ids(event: Mapping[str, Any]) -> list[str]:
    """The IDs in ``auth_events``, whichever format the event uses."""
    return _cited_ids(event.get("auth_events"))


def state_key(event: Mapping[str, Any]) -> str | None:
    """The event's state key, or None for a non-state event."""
    key = event.get("state_key")
    return key if isinstance(key, str) else None


def is_state(event: Mapping[str, Any]) -> bool:
    return isinstance(event.get("state_key"), str)


def state_tuple(event: Mapping[str, Any]) -> tuple[str, str]:
    """``(type, state_key)`` of a state event."""
    key = event.get("state_key")
    if not isinstance(key, str):
        raise ValueError("not a state event")
    return (str(event.get("type")), key)


def redacts(event: Mapping[str, Any], version: RoomVersion) -> str | None:
    """The event ID an ``m.room.redaction`` redacts: top-level before v11,
    in ``content`` from v11 (MSC2174; v11 servers also accept top-level)."""
    if version.updated_redaction_rules:
        content = event.get("content")
        if isinstance(content, dict) and isinstance(content.get("redacts"), str):
            return str(content["redacts"])
    value = event.get("redacts")
    return value if isinstance(value, str) else None


def cites_events_by_pair(version: RoomVersion) -> bool:
    """True where ``prev_events``/``auth_events`` are ``[id, hashes]`` pairs (v1, v2)."""
    return version.event_format is EventFormat.V1
