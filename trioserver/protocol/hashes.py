"""Event hashes, event IDs, event signatures and the PDU format checks.

Spec: server-server API, "Signing Events" ("Adding hashes and signatures to
outgoing events", "Validating hashes and signatures on received events",
"Calculating the reference hash for an event", "Calculating the content hash
for an event"), "Checks performed on receipt of a PDU" (step 1); room versions
``v1.md`` / ``v3.md`` / ``v4-event-ids.md`` (event IDs) and ``v12.md`` (room
IDs, MSC4291); client-server API, "Size limits".

In room versions whose event IDs are hashes (v3+), ``event_id`` is not part of
the PDU ("the ``event_id`` field is no longer included"), so the functions here
that are told the room version ignore a stray ``event_id`` key: an event ID
cannot cover itself, and callers may keep it on their in-memory events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import nacl.signing

from trioserver.protocol.base64 import decode_base64, encode_base64
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import MAX_IDENTIFIER_BYTES, is_valid_user_id
from trioserver.protocol.json import canonical_json, find_non_canonical_value
from trioserver.protocol.redaction import redact
from trioserver.protocol.room_versions import EventFormat, RoomVersion, room_version
from trioserver.protocol.signing import sign_json, verify_signed_json

__all__ = [
    "MAX_AUTH_EVENTS",
    "MAX_PDU_BYTES",
    "MAX_PREV_EVENTS",
    "InvalidPdu",
    "check_content_hash",
    "check_pdu_format",
    "compute_content_hash",
    "compute_event_id",
    "compute_reference_hash",
    "compute_room_id",
    "make_v1_event_id",
    "sign_event",
    "verify_event_signature",
]

#: A complete PDU, canonical JSON, signatures included (client-server API, "Size limits").
MAX_PDU_BYTES = 65536
#: ``prev_events`` / ``auth_events`` length limits (PDU schemas of every version).
MAX_PREV_EVENTS = 20
MAX_AUTH_EVENTS = 10


class InvalidPdu(MatrixError, ValueError):
    """A PDU that breaks the event format of its room version. ``errcode`` is
    ``M_TOO_LARGE`` for the byte-size limits and ``M_BAD_JSON`` for the rest."""

    def __init__(self, message: str, errcode: str = "M_BAD_JSON") -> None:
        super().__init__(errcode, message)


def _version(version: RoomVersion | str) -> RoomVersion:
    return room_version(version) if isinstance(version, str) else version


def _without(event: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in keys}


def _pdu(event: Mapping[str, Any], rv: RoomVersion) -> Mapping[str, Any]:
    """The event as its room version transmits it (no ``event_id`` for v3+)."""
    if rv.event_ids_are_hashes and "event_id" in event:
        return _without(event, "event_id")
    return event


def _content_hash(event: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(
        canonical_json(_without(event, "unsigned", "signatures", "hashes"))
    ).digest()


def _maybe_pdu(event: Mapping[str, Any], version: RoomVersion | str | None) -> Mapping[str, Any]:
    return event if version is None else _pdu(event, _version(version))


def compute_content_hash(event: Mapping[str, Any], version: RoomVersion | str | None = None) -> str:
    """The content hash of ``event`` as unpadded standard Base64: SHA-256 of the
    canonical JSON of the whole event without ``unsigned``, ``signatures`` and
    ``hashes`` ("Calculating the content hash for an event").

    Without ``version`` the event is hashed exactly as given; with it, a stray
    ``event_id`` is ignored for room versions 3+.
    """
    return encode_base64(_content_hash(_maybe_pdu(event, version)))


def check_content_hash(event: Mapping[str, Any], version: RoomVersion | str | None = None) -> bool:
    """Whether ``hashes.sha256`` of ``event`` matches its content (``version`` as
    for :func:`compute_content_hash`). False if it is missing or not Base64. A
    failed check means the event must be redacted before further processing
    ("Validating hashes and signatures on received events")."""
    event = _maybe_pdu(event, version)
    hashes = event.get("hashes")
    expected = hashes.get("sha256") if isinstance(hashes, Mapping) else None
    if not isinstance(expected, str):
        return False
    try:
        return decode_base64(expected) == _content_hash(event)
    except ValueError:
        return False


def compute_reference_hash(event: Mapping[str, Any], version: RoomVersion | str) -> bytes:
    """The SHA-256 reference hash of ``event``: the canonical JSON of the redacted
    event without ``signatures`` and ``unsigned`` ("Calculating the reference
    hash for an event"). Redaction also drops ``age_ts`` and other unlisted keys.
    """
    rv = _version(version)
    redacted = redact(_pdu(event, rv), rv)
    redacted.pop("signatures", None)
    return hashlib.sha256(canonical_json(redacted)).digest()


def compute_event_id(event: Mapping[str, Any], version: RoomVersion | str) -> str:
    """The event ID of ``event``: ``$`` + the reference hash in unpadded standard
    Base64 (room v3) or URL-safe Base64 (v4+).

    Rooms v1 and v2 have no derived event IDs (the origin server picks them:
    see :func:`make_v1_event_id`): :class:`ValueError`.
    """
    rv = _version(version)
    if rv.event_format is EventFormat.V1:
        raise ValueError(f"room version {rv.identifier} event IDs are assigned, not derived")
    urlsafe = rv.event_format is not EventFormat.V2
    return "$" + encode_base64(compute_reference_hash(event, rv), urlsafe=urlsafe)


def make_v1_event_id(server_name: str, random_part: str) -> str:
    """``$random_part:server_name``, the event ID format of rooms v1 and v2
    (``rooms/fragments/v1-event-ids.md``). The caller supplies the locally unique
    ``random_part``; :class:`ValueError` if it contains ``:`` or NUL, is empty,
    or the ID would exceed 255 bytes."""
    if not random_part or ":" in random_part or "\x00" in random_part:
        raise ValueError(f"invalid event ID localpart {random_part!r}")
    event_id = f"${random_part}:{server_name}"
    if len(event_id.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise ValueError("event ID is longer than 255 bytes")
    return event_id


def compute_room_id(create_event: Mapping[str, Any], version: RoomVersion | str = "12") -> str:
    """The room ID a room version with ``room_id_from_create_event`` (v12,
    MSC4291) derives from its ``m.room.create`` event: the create event's ID
    with the sigil ``!`` instead of ``$`` (appendices, "Room IDs").
    :class:`ValueError` for other room versions or a non-create event."""
    rv = _version(version)
    if not rv.room_id_from_create_event:
        raise ValueError(f"room version {rv.identifier} room IDs are not derived")
    if create_event.get("type") != "m.room.create":
        raise ValueError("not an m.room.create event")
    return "!" + compute_event_id(create_event, rv)[1:]


def sign_event(
    event: Mapping[str, Any],
    server_name: str,
    key_id: str,
    signing_key: nacl.signing.SigningKey,
    version: RoomVersion | str,
) -> dict[str, Any]:
    """A copy of ``event`` with its content hash and ``server_name``'s signature
    ("Adding hashes and signatures to outgoing events").

    Sets ``hashes.sha256`` (other hash algorithms are kept), signs the redacted
    event and copies the resulting ``signatures`` (existing ones kept) onto the
    full event. For v3+ the returned PDU has no ``event_id``. ``event`` is not
    modified.
    """
    rv = _version(version)
    full = dict(_pdu(event, rv))
    hashes = full.get("hashes")
    full["hashes"] = {
        **(hashes if isinstance(hashes, Mapping) else {}),
        "sha256": compute_content_hash(full),
    }
    signed = sign_json(redact(full, rv), server_name, key_id, signing_key)
    full["signatures"] = signed["signatures"]
    return full


def verify_event_signature(
    event: Mapping[str, Any],
    server_name: str,
    key_id: str,
    verify_key: nacl.signing.VerifyKey,
    version: RoomVersion | str,
) -> None:
    """Check ``server_name``'s signature with ``key_id`` on ``event``: the signature
    covers the redacted event, so this passes for the full event and for any
    redacted copy of it ("Validating hashes and signatures on received events").
    The content hash is a separate check (:func:`check_content_hash`).
    Raises :class:`~trioserver.protocol.signing.SignatureError`."""
    rv = _version(version)
    verify_signed_json(redact(_pdu(event, rv), rv), server_name, key_id, verify_key)


def _utf8_len(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


def _check_references(event: Mapping[str, Any], key: str, limit: int, rv: RoomVersion) -> None:
    refs = event.get(key)
    if not isinstance(refs, list):
        raise InvalidPdu(f"{key} is not a list")
    if len(refs) > limit:
        raise InvalidPdu(f"{key} has {len(refs)} entries, more than {limit}")
    for ref in refs:
        if rv.event_format is EventFormat.V1:
            if not (
                isinstance(ref, list)
                and len(ref) == 2
                and isinstance(ref[1], Mapping)
                and all(isinstance(h, str) for h in ref[1].values())
            ):
                raise InvalidPdu(f"{key} entries must be [event_id, {{hashes}}] pairs")
            ref = ref[0]
        if not isinstance(ref, str) or not ref.startswith("$"):
            raise InvalidPdu(f"{key} holds something that is not an event ID")
        if _utf8_len(ref) > MAX_IDENTIFIER_BYTES:
            raise InvalidPdu(f"an event ID in {key} is longer than 255 bytes", "M_TOO_LARGE")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_pdu_format(event: Mapping[str, Any], version: RoomVersion | str) -> None:
    """Check that ``event`` has the event format of room ``version`` (step 1 of
    "Checks performed on receipt of a PDU"). Raises :class:`InvalidPdu`:

    * ``M_TOO_LARGE``: the canonical JSON of the whole event (signatures and
      ``unsigned`` included, a stray v3+ ``event_id`` not) exceeds 65536 bytes;
      ``sender``, ``room_id``, ``state_key``, ``type``, ``event_id`` or
      ``redacts`` (or an ID in ``prev_events``/``auth_events``) exceeds 255 bytes.
    * ``M_BAD_JSON``: a required key is missing or has the wrong type (``sender``,
      ``type``, ``content``, ``origin_server_ts``, ``depth``, ``hashes.sha256``,
      ``signatures``, ``prev_events``, ``auth_events``; ``room_id`` except on a
      v12 create event; ``event_id`` in v1/v2; ``state_key``, ``redacts`` and
      ``unsigned`` where present), ``depth`` outside
      ``0..2**63-1`` (``0..2**53-1`` with ``strict_canonical_json``), more than 20
      ``prev_events`` or 10 ``auth_events``, cited events not in the version's
      form (``[id, hashes]`` pairs in v1/v2, plain IDs later), ``sender`` not a
      user ID (historical grammar allowed), or, with ``strict_canonical_json``
      (v6+), a float or out-of-range integer anywhere in the event.

    Authorisation (e.g. a v12 create event must not have a ``room_id``) is not
    checked here.
    """
    rv = _version(version)
    if not isinstance(event, Mapping):
        raise InvalidPdu("event is not an object")
    for key in ("sender", "type"):
        if not isinstance(event.get(key), str):
            raise InvalidPdu(f"{key} is missing or not a string")
    needs_room_id = not (rv.room_id_from_create_event and event["type"] == "m.room.create")
    if needs_room_id and not isinstance(event.get("room_id"), str):
        raise InvalidPdu("room_id is missing or not a string")
    if rv.event_format is EventFormat.V1 and not isinstance(event.get("event_id"), str):
        raise InvalidPdu("event_id is missing or not a string")
    for key in ("sender", "room_id", "state_key", "type", "event_id", "redacts"):
        if key not in event:
            continue
        value = event[key]
        if not isinstance(value, str):
            raise InvalidPdu(f"{key} is not a string")
        if _utf8_len(value) > MAX_IDENTIFIER_BYTES:
            raise InvalidPdu(f"{key} is longer than 255 bytes", "M_TOO_LARGE")
    if not is_valid_user_id(event["sender"]):
        raise InvalidPdu("sender is not a user ID")
    if not isinstance(event.get("content"), Mapping):
        raise InvalidPdu("content is missing or not an object")
    if not _is_int(event.get("origin_server_ts")):
        raise InvalidPdu("origin_server_ts is missing or not an integer")
    depth = event.get("depth")
    max_depth = 2**53 - 1 if rv.strict_canonical_json else 2**63 - 1
    if not _is_int(depth) or not isinstance(depth, int):
        raise InvalidPdu("depth is missing or not an integer")
    if not 0 <= depth <= max_depth:
        raise InvalidPdu(f"depth {depth} is out of range")
    hashes = event.get("hashes")
    if not isinstance(hashes, Mapping) or not isinstance(hashes.get("sha256"), str):
        raise InvalidPdu("hashes.sha256 is missing or not a string")
    signatures = event.get("signatures")
    if not isinstance(signatures, Mapping) or not all(
        isinstance(keys, Mapping) and all(isinstance(s, str) for s in keys.values())
        for keys in signatures.values()
    ):
        raise InvalidPdu("signatures is missing or malformed")
    if "unsigned" in event and not isinstance(event["unsigned"], Mapping):
        raise InvalidPdu("unsigned is not an object")
    _check_references(event, "prev_events", MAX_PREV_EVENTS, rv)
    _check_references(event, "auth_events", MAX_AUTH_EVENTS, rv)
    if rv.strict_canonical_json:
        problem = find_non_canonical_value(event)
        if problem is not None:
            raise InvalidPdu(problem)
    try:
        size = len(canonical_json(dict(_pdu(event, rv))))
    except (TypeError, ValueError) as exc:
        raise InvalidPdu(f"event cannot be encoded as canonical JSON: {exc}") from None
    if size > MAX_PDU_BYTES:
        raise InvalidPdu(f"event is {size} bytes, more than {MAX_PDU_BYTES}", "M_TOO_LARGE")
