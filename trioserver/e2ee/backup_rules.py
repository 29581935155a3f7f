"""Server-side key backups: the shape of backup versions and backed-up keys,
and which of two keys for one session is kept (client-server API,
"Server-side key backups", ``/room_keys/...``). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trioserver.e2ee.validation import canonical_text
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.json import CANONICAL_INT_MAX

#: The one backup algorithm the spec defines; its ``auth_data`` must hold a
#: ``public_key`` (``KeyBackupAuthData``).
MEGOLM_BACKUP_V1 = "m.megolm_backup.v1.curve25519-aes-sha2"
#: Longest algorithm name, room ID and session ID accepted.
MAX_ID_LENGTH = 255

_VERSION = re.compile(r"[1-9][0-9]{0,15}")


@dataclass(frozen=True, slots=True)
class RoomKey:
    """One backed-up session key (``KeyBackupData``); ``session_data`` is
    the canonical JSON of the client's encrypted object."""

    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: str


def should_replace(old: RoomKey, new: RoomKey) -> bool:
    """Whether ``new`` replaces the stored ``old`` key of the same session
    ("Server-side key backups"): the verified one wins; with equal
    ``is_verified``, the lower ``first_message_index``; with that equal too,
    the lower ``forwarded_count``. On a full tie the stored key is kept."""
    if old.is_verified != new.is_verified:
        return new.is_verified
    if old.first_message_index != new.first_message_index:
        return new.first_message_index < old.first_message_index
    return new.forwarded_count < old.forwarded_count


def parse_version(text: str) -> int | None:
    """Our backup versions are positive integers sent as opaque strings; any
    other string names no backup (None)."""
    return int(text) if _VERSION.fullmatch(text) else None


def _non_negative_int(obj: Mapping[str, Any], key: str, what: str) -> int:
    if key not in obj:
        raise MatrixError("M_MISSING_PARAM", f"{what} has no '{key}'")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= CANONICAL_INT_MAX:
        raise MatrixError("M_INVALID_PARAM", f"{what}.{key} must be a non-negative integer")
    return value


def parse_room_key(value: object, what: str = "key") -> RoomKey:
    """A ``KeyBackupData`` object: ``first_message_index``, ``forwarded_count``
    (non-negative integers), ``is_verified`` (boolean), ``session_data`` (object)."""
    if not isinstance(value, dict):
        raise MatrixError("M_INVALID_PARAM", f"{what} must be an object")
    first = _non_negative_int(value, "first_message_index", what)
    forwarded = _non_negative_int(value, "forwarded_count", what)
    if "is_verified" not in value:
        raise MatrixError("M_MISSING_PARAM", f"{what} has no 'is_verified'")
    if not isinstance(value["is_verified"], bool):
        raise MatrixError("M_INVALID_PARAM", f"{what}.is_verified must be true or false")
    session_data = value.get("session_data")
    if session_data is None:
        raise MatrixError("M_MISSING_PARAM", f"{what} has no 'session_data'")
    if not isinstance(session_data, dict):
        raise MatrixError("M_INVALID_PARAM", f"{what}.session_data must be an object")
    return RoomKey(first, forwarded, value["is_verified"], canonical_text(session_data, what))


def check_room_id(room_id: str) -> str:
    if not room_id.startswith("!") or len(room_id) > MAX_ID_LENGTH:
        raise MatrixError("M_INVALID_PARAM", f"{room_id[:40]!r} is not a room ID")
    return room_id


def check_session_id(session_id: str) -> str:
    if not session_id or len(session_id) > MAX_ID_LENGTH:
        raise MatrixError("M_INVALID_PARAM", "Session IDs are 1 to 255 characters")
    return session_id


def parse_sessions(value: object, what: str) -> dict[str, RoomKey]:
    """A ``RoomKeyBackup`` object: ``{"sessions": {session ID: KeyBackupData}}``."""
    if not isinstance(value, dict):
        raise MatrixError("M_INVALID_PARAM", f"{what} must be an object")
    sessions = value.get("sessions")
    if sessions is None:
        raise MatrixError("M_MISSING_PARAM", f"{what} has no 'sessions'")
    if not isinstance(sessions, dict):
        raise MatrixError("M_INVALID_PARAM", f"{what}.sessions must be an object")
    return {
        check_session_id(session_id): parse_room_key(key, f"{what}.sessions[{session_id!r}]")
        for session_id, key in sessions.items()
    }


def parse_rooms(body: Mapping[str, Any]) -> dict[str, dict[str, RoomKey]]:
    """The body of ``PUT /room_keys/keys``: ``{"rooms": {room ID: RoomKeyBackup}}``."""
    rooms = body.get("rooms")
    if rooms is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'rooms'")
    if not isinstance(rooms, dict):
        raise MatrixError("M_INVALID_PARAM", "'rooms' must be an object")
    return {
        check_room_id(room_id): parse_sessions(backup, f"rooms[{room_id!r}]")
        for room_id, backup in rooms.items()
    }


def parse_version_body(body: Mapping[str, Any]) -> tuple[str, str]:
    """``algorithm`` and the canonical JSON of ``auth_data`` of a backup version
    (``POST /room_keys/version``, ``PUT /room_keys/version/{version}``)."""
    algorithm = body.get("algorithm")
    if algorithm is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'algorithm'")
    if not isinstance(algorithm, str) or not algorithm or len(algorithm) > MAX_ID_LENGTH:
        raise MatrixError("M_INVALID_PARAM", "'algorithm' must be a non-empty string")
    auth_data = body.get("auth_data")
    if auth_data is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'auth_data'")
    if not isinstance(auth_data, dict):
        raise MatrixError("M_INVALID_PARAM", "'auth_data' must be an object")
    if algorithm == MEGOLM_BACKUP_V1 and not isinstance(auth_data.get("public_key"), str):
        raise MatrixError("M_INVALID_PARAM", "auth_data.public_key must be a string")
    return algorithm, canonical_text(auth_data, "auth_data")
