"""Events as clients see them: the ``ClientEvent`` format (spec: client-server
API, "Room Events" / ``definitions/client_event.yaml``; ``rooms/v11.md``,
"Moving the ``redacts`` property of ``m.room.redaction`` events").

Pure: a stored PDU (the federation form) in, a new dict out. Federation-only
keys (``auth_events``, ``prev_events``, ``depth``, ``hashes``, ``signatures``,
``origin``...) never reach clients, and neither does the PDU's own
``unsigned``: what clients get in ``unsigned`` is given by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trioserver.protocol.redaction import redact

__all__ = ["client_event", "replaced_unsigned", "strip_to_client_keys"]


def strip_to_client_keys(
    pdu: Mapping[str, Any], *, room_id_included: bool = True
) -> dict[str, Any]:
    """The ClientEvent keys of ``pdu`` (no ``event_id``, no ``unsigned``)."""
    event: dict[str, Any] = {
        "type": pdu.get("type"),
        "content": dict(pdu["content"]) if isinstance(pdu.get("content"), Mapping) else {},
        "sender": pdu.get("sender"),
        "origin_server_ts": pdu.get("origin_server_ts"),
    }
    if room_id_included and isinstance(pdu.get("room_id"), str):
        event["room_id"] = pdu["room_id"]
    if isinstance(pdu.get("state_key"), str):
        event["state_key"] = pdu["state_key"]
    return event


def client_event(
    pdu: Mapping[str, Any],
    event_id: str,
    room_version: str,
    *,
    room_id_included: bool = True,
    redacted_because: Mapping[str, Any] | None = None,
    age_ms: int | None = None,
    transaction_id: str | None = None,
    unsigned_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ClientEvent of a stored PDU.

    * ``room_id`` is left out where ``room_id_included`` is False (``/sync``'s
      ``ClientEventWithoutRoomID``). A v12 create event has no ``room_id`` in
      its PDU; callers that know it pass it in ``pdu`` (or accept its absence).
    * ``redacted_because``: the (client-format) redaction event; the content is
      then redacted with the rules of ``room_version`` and the redaction put in
      ``unsigned.redacted_because``.
    * ``age_ms`` -> ``unsigned.age``; ``transaction_id`` -> ``unsigned.transaction_id``
      (give it only to the sending device, spec: "Transaction identifiers").
    * ``unsigned_extra``: more ``unsigned`` keys (``prev_content``,
      ``replaces_state``, ``membership``, ``m.relations``...), copied as given.
    * ``m.room.redaction``: ``redacts`` is served both at the top level and in
      ``content`` whatever the room version (``rooms/v11.md``: for old clients
      the top level, for new clients ``content``).
    """
    source: Mapping[str, Any] = pdu
    if redacted_because is not None:
        source = redact(pdu, room_version)
    event = strip_to_client_keys(source, room_id_included=room_id_included)
    event["event_id"] = event_id
    if event["type"] == "m.room.redaction":
        _both_redacts(event, source)
    unsigned: dict[str, Any] = {}
    if age_ms is not None:
        unsigned["age"] = age_ms
    if transaction_id is not None:
        unsigned["transaction_id"] = transaction_id
    if unsigned_extra:
        unsigned.update(unsigned_extra)
    if redacted_because is not None:
        unsigned["redacted_because"] = dict(redacted_because)
    if unsigned:
        event["unsigned"] = unsigned
    return event


def _both_redacts(event: dict[str, Any], source: Mapping[str, Any]) -> None:
    content = event["content"]
    top = source.get("redacts")
    inner = content.get("redacts")
    target = inner if isinstance(inner, str) else top if isinstance(top, str) else None
    if target is None:
        return
    event["redacts"] = target
    content["redacts"] = target


def replaced_unsigned(
    replaced_id: str, replaced_pdu: Mapping[str, Any], redacted: bool, room_version: str
) -> dict[str, Any]:
    """The ``unsigned`` keys of a state event that replaced ``replaced_id``:
    ``replaces_state``, ``prev_content`` (redacted if that event was) and
    ``prev_sender``."""
    source = redact(replaced_pdu, room_version) if redacted else replaced_pdu
    content = source.get("content")
    return {
        "replaces_state": replaced_id,
        "prev_content": dict(content) if isinstance(content, Mapping) else {},
        "prev_sender": replaced_pdu.get("sender"),
    }
