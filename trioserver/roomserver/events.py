"""Identity of a PDU: its event ID and room ID, whatever the room version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trioserver.protocol.hashes import compute_event_id, compute_room_id
from trioserver.protocol.room_versions import EventFormat, RoomVersion


def event_id_of(pdu: Mapping[str, Any], version: RoomVersion) -> str:
    """v1/v2: the ``event_id`` field; later versions: derived from the reference hash."""
    if version.event_format is EventFormat.V1:
        event_id = pdu.get("event_id")
        if not isinstance(event_id, str):
            raise ValueError("a v1/v2 event must carry its event_id")
        return event_id
    return compute_event_id(dict(pdu), version.identifier)


def room_id_of(pdu: Mapping[str, Any], version: RoomVersion) -> str:
    """The event's room: its ``room_id``, or for a v12 create event the ID derived from it."""
    if (
        version.room_id_from_create_event
        and pdu.get("type") == "m.room.create"
        and pdu.get("state_key") == ""
    ):
        return compute_room_id(dict(pdu), version.identifier)
    room_id = pdu.get("room_id")
    if not isinstance(room_id, str):
        raise ValueError("the event has no room_id")
    return room_id
