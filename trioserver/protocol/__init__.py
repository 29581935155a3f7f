"""Pure Matrix protocol rules: no I/O, no trio, no sqlite.

Events are plain dicts in their federation (PDU) form; ``room_version`` is
always the version identifier string ("1" .. "12").
"""

from trioserver.protocol.auth import AuthError, auth_event_types, check_auth
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.hashes import (
    compute_content_hash,
    compute_event_id,
    compute_room_id,
    sign_event,
)
from trioserver.protocol.json import BadJson, canonical_json, parse_json
from trioserver.protocol.redaction import redact
from trioserver.protocol.room_versions import (
    DEFAULT_ROOM_VERSION,
    ROOM_VERSIONS,
    RoomVersion,
)
from trioserver.protocol.signing import SignatureError, sign_json, verify_signed_json
from trioserver.protocol.state_res import resolve_state, resolve_state_lazy

__all__ = [
    "DEFAULT_ROOM_VERSION",
    "ROOM_VERSIONS",
    "AuthError",
    "BadJson",
    "MatrixError",
    "RoomVersion",
    "SignatureError",
    "auth_event_types",
    "canonical_json",
    "check_auth",
    "compute_content_hash",
    "compute_event_id",
    "compute_room_id",
    "parse_json",
    "redact",
    "resolve_state",
    "resolve_state_lazy",
    "sign_event",
    "sign_json",
    "verify_signed_json",
]
