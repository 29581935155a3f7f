"""Building a local event: prev events, auth events, depth, hashes, signature, ID.

Pure: the caller (the room's worker, which alone may choose prev events for
its room) passes in the room's forward extremities and current state.
Spec: server-server API, "PDUs" and "Signing Events"; rooms/v*.md "Event format".
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nacl.signing

from trioserver.protocol.auth import auth_event_types
from trioserver.protocol.base64 import encode_base64
from trioserver.protocol.hashes import (
    compute_event_id,
    compute_reference_hash,
    make_v1_event_id,
    sign_event,
)
from trioserver.protocol.room_versions import EventFormat, RoomVersion

#: The spec limits an event to 20 prev events; we cite at most this many.
MAX_PREV_EVENTS = 10
#: Largest depth a PDU may carry from v6 on (canonical JSON integer range).
MAX_DEPTH = 2**53 - 1


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    """Who signs our events."""

    server_name: str
    key_id: str
    signing_key: nacl.signing.SigningKey


@dataclass(frozen=True, slots=True)
class Extremity:
    event_id: str
    depth: int


@dataclass(frozen=True, slots=True)
class BuiltEvent:
    event_id: str
    pdu: dict[str, Any]


def choose_prev_events(extremities: Sequence[Extremity]) -> list[Extremity]:
    """The newest (deepest) extremities, at most :data:`MAX_PREV_EVENTS`,
    in a deterministic order."""
    ordered = sorted(extremities, key=lambda e: (-e.depth, e.event_id))
    return ordered[:MAX_PREV_EVENTS]


def select_auth_event_ids(
    proto_event: Mapping[str, Any],
    current_state: Mapping[tuple[str, str], str],
    version: RoomVersion,
) -> list[str]:
    """The IDs of the current-state events ``proto_event`` must cite
    (spec: server-server API, "Auth events selection")."""
    wanted = auth_event_types(dict(proto_event), version.identifier)
    return sorted({current_state[key] for key in wanted if key in current_state})


def build_event(
    *,
    version: RoomVersion,
    room_id: str | None,
    sender: str,
    event_type: str,
    content: Mapping[str, Any],
    state_key: str | None,
    prev_events: Sequence[Extremity],
    auth_event_ids: Sequence[str],
    origin_server_ts: int,
    identity: ServerIdentity,
    event_json_of: Callable[[str], Mapping[str, Any]] | None = None,
    redacts: str | None = None,
    unsigned: Mapping[str, Any] | None = None,
) -> BuiltEvent:
    """A signed PDU of ``version``'s format.

    ``room_id`` is None only for a v12 create event (its room ID derives
    from it). For v1/v2, cited events carry their reference hashes, so
    ``event_json_of(event_id)`` must return those events' PDUs.
    """
    depth = min(max((p.depth for p in prev_events), default=0) + 1, MAX_DEPTH)
    pdu: dict[str, Any] = {
        "type": event_type,
        "sender": sender,
        "content": dict(content),
        "depth": depth,
        "origin_server_ts": origin_server_ts,
        "hashes": {},
        "signatures": {},
    }
    if room_id is not None:
        pdu["room_id"] = room_id
    if state_key is not None:
        pdu["state_key"] = state_key
    if redacts is not None:
        if version.updated_redaction_rules:
            pdu["content"]["redacts"] = redacts
        else:
            pdu["redacts"] = redacts
    if unsigned:
        pdu["unsigned"] = dict(unsigned)
    if version.event_format is EventFormat.V1:
        if event_json_of is None:
            raise ValueError("v1/v2 events cite reference hashes: event_json_of is required")
        pdu["event_id"] = make_v1_event_id(identity.server_name, secrets.token_urlsafe(12))
        pdu["prev_events"] = [_cite(p.event_id, event_json_of, version) for p in prev_events]
        pdu["auth_events"] = [_cite(a, event_json_of, version) for a in auth_event_ids]
    else:
        pdu["prev_events"] = [p.event_id for p in prev_events]
        pdu["auth_events"] = list(auth_event_ids)
    signed = sign_event(
        pdu, identity.server_name, identity.key_id, identity.signing_key, version.identifier
    )
    if version.event_format is EventFormat.V1:
        return BuiltEvent(str(signed["event_id"]), signed)
    return BuiltEvent(compute_event_id(signed, version.identifier), signed)


def _cite(
    event_id: str, event_json_of: Callable[[str], Mapping[str, Any]], version: RoomVersion
) -> list[Any]:
    reference = compute_reference_hash(dict(event_json_of(event_id)), version.identifier)
    return [event_id, {"sha256": encode_base64(reference)}]
