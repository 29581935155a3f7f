"""The shape of uploaded device keys, one-time keys and fallback keys
(client-server API, "Key algorithms", "Device keys", "One-time and fallback
keys", ``POST /keys/upload``). Pure: plain data in, plain data or a
:class:`MatrixError` (400) out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nacl.signing

from trioserver.protocol.errors import MatrixError
from trioserver.protocol.json import canonical_json, find_non_canonical_value
from trioserver.protocol.signing import (
    ED25519,
    SignatureError,
    decode_verify_key_base64,
    verify_signed_json,
)

#: Longest algorithm name and key ID accepted in ``<algorithm>:<key_id>``.
MAX_KEY_NAME_PART = 255
#: Most keys accepted in one ``one_time_keys`` or ``fallback_keys`` object.
MAX_KEYS_PER_UPLOAD = 1000


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    """A checked ``device_keys`` object: ``json`` as uploaded (every signature
    kept), ``canonical`` its canonical JSON, ``ed25519_key`` the device's
    fingerprint key (unpadded base64)."""

    json: dict[str, Any]
    canonical: str
    ed25519_key: str


@dataclass(frozen=True, slots=True)
class UploadedKey:
    """One entry of ``one_time_keys`` / ``fallback_keys``: ``<algorithm>:<key_id>``
    and the canonical JSON of its value (a string or a ``KeyObject``)."""

    algorithm: str
    key_id: str
    canonical: str

    @property
    def name(self) -> str:
        return f"{self.algorithm}:{self.key_id}"


def canonical_text(value: object, what: str) -> str:
    """The canonical JSON of a value from a request body, or 400 ``M_BAD_JSON``
    if it holds floats, out-of-range integers or lone surrogates (what we store
    must re-encode canonically: signatures are computed over that encoding)."""
    problem = find_non_canonical_value(value)
    if problem is not None:
        raise MatrixError("M_BAD_JSON", f"{what}: {problem}")
    try:
        return canonical_json(value).decode("utf-8")
    except (ValueError, TypeError) as exc:
        raise MatrixError("M_BAD_JSON", f"{what}: {exc}") from None


def _require_object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MatrixError("M_INVALID_PARAM", f"'{what}' must be an object")
    return value


def _require_string_map(value: object, what: str) -> dict[str, str]:
    obj = _require_object(value, what)
    if not all(isinstance(v, str) for v in obj.values()):
        raise MatrixError("M_INVALID_PARAM", f"the values of '{what}' must be strings")
    return obj


def check_signatures_shape(value: object, what: str) -> dict[str, dict[str, str]]:
    """``signatures``: user ID -> key ID -> signature string."""
    obj = _require_object(value, f"{what}.signatures")
    for entity, sigs in obj.items():
        _require_string_map(sigs, f"{what}.signatures.{entity}")
    return obj


def split_key_name(name: str, what: str) -> tuple[str, str]:
    """``<algorithm>:<key_id>`` into its two non-empty parts (400 otherwise)."""
    algorithm, colon, key_id = name.partition(":")
    if not algorithm or not colon or not key_id:
        raise MatrixError("M_INVALID_PARAM", f"{what}: {name!r} is not '<algorithm>:<key_id>'")
    if len(algorithm) > MAX_KEY_NAME_PART or len(key_id) > MAX_KEY_NAME_PART:
        raise MatrixError("M_INVALID_PARAM", f"{what}: key name {name[:40]!r}... is too long")
    return algorithm, key_id


def decode_ed25519(text: str, what: str) -> nacl.signing.VerifyKey:
    """An ed25519 public key in unpadded base64, or 400 ``M_INVALID_PARAM``."""
    try:
        return decode_verify_key_base64(text)
    except (ValueError, TypeError):
        raise MatrixError("M_INVALID_PARAM", f"{what} is not an ed25519 public key") from None


def verify_signature(
    obj: Mapping[str, Any], user_id: str, key_id: str, verify_key: nacl.signing.VerifyKey
) -> None:
    """400 ``M_INVALID_SIGNATURE`` unless ``user_id`` signed ``obj`` with ``key_id``."""
    try:
        verify_signed_json(obj, user_id, key_id, verify_key)
    except SignatureError as exc:
        raise MatrixError("M_INVALID_SIGNATURE", f"Invalid signature: {exc}") from None
    except (ValueError, TypeError) as exc:  # not canonically encodable
        raise MatrixError("M_BAD_JSON", f"Cannot check the signature: {exc}") from None


def validate_device_keys(value: object, user_id: str, device_id: str) -> DeviceKeys:
    """Check ``device_keys`` of ``POST /keys/upload`` from ``user_id``'s device
    ``device_id``: an object for exactly that user and device, with a list of
    ``algorithms``, a ``keys`` map holding ``ed25519:<device_id>``, and
    ``signatures`` holding the device's signature made with that key, which
    must verify ("Uploading keys": the object "must be signed by that key").
    Other signatures (by cross-signing keys, say) are kept unchecked."""
    obj = _require_object(value, "device_keys")
    canonical = canonical_text(obj, "device_keys")
    if obj.get("user_id") != user_id:
        raise MatrixError("M_INVALID_PARAM", "device_keys.user_id is not the requester's user ID")
    if obj.get("device_id") != device_id:
        raise MatrixError(
            "M_INVALID_PARAM", "device_keys.device_id is not the requesting device's ID"
        )
    algorithms = obj.get("algorithms")
    if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
        raise MatrixError("M_INVALID_PARAM", "device_keys.algorithms must be a list of strings")
    keys = _require_string_map(obj.get("keys"), "device_keys.keys")
    for name in keys:
        split_key_name(name, "device_keys.keys")
    key_id = f"{ED25519}:{device_id}"
    ed25519_key = keys.get(key_id)
    if ed25519_key is None:
        raise MatrixError("M_INVALID_PARAM", f"device_keys.keys has no {key_id!r} key")
    verify_key = decode_ed25519(ed25519_key, f"device_keys.keys[{key_id!r}]")
    if "signatures" not in obj:
        raise MatrixError("M_MISSING_PARAM", "device_keys has no signatures")
    check_signatures_shape(obj["signatures"], "device_keys")
    verify_signature(obj, user_id, key_id, verify_key)
    return DeviceKeys(obj, canonical, ed25519_key)


def _validate_key_value(value: object, what: str) -> None:
    """A one-time or fallback key is a string (``curve25519``) or a
    ``KeyObject``: ``key`` and ``signatures`` required, ``fallback`` a boolean."""
    if isinstance(value, str):
        return
    obj = _require_object(value, what)
    if not isinstance(obj.get("key"), str):
        raise MatrixError("M_INVALID_PARAM", f"{what}.key must be a string")
    if "signatures" not in obj:
        raise MatrixError("M_MISSING_PARAM", f"{what} has no signatures")
    check_signatures_shape(obj["signatures"], what)
    if "fallback" in obj and not isinstance(obj["fallback"], bool):
        raise MatrixError("M_INVALID_PARAM", f"{what}.fallback must be true or false")


def validate_key_map(value: object, field: str, *, one_per_algorithm: bool) -> list[UploadedKey]:
    """Check a ``one_time_keys`` or ``fallback_keys`` object: names
    ``<algorithm>:<key_id>``, values strings or key objects. Signatures of
    one-time keys are checked by the clients that claim them, not here.
    ``one_per_algorithm`` (fallback keys): "at most one key per algorithm"."""
    obj = _require_object(value, field)
    if len(obj) > MAX_KEYS_PER_UPLOAD:
        raise MatrixError(
            "M_INVALID_PARAM", f"'{field}' holds more than {MAX_KEYS_PER_UPLOAD} keys"
        )
    keys: list[UploadedKey] = []
    seen: set[str] = set()
    for name, key in obj.items():
        algorithm, key_id = split_key_name(name, field)
        what = f"{field}[{name!r}]"
        _validate_key_value(key, what)
        if one_per_algorithm:
            if algorithm in seen:
                raise MatrixError(
                    "M_INVALID_PARAM", f"'{field}' holds more than one {algorithm} key"
                )
            seen.add(algorithm)
        keys.append(UploadedKey(algorithm, key_id, canonical_text(key, what)))
    return keys


def merge_signatures(obj: dict[str, Any], extra: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """``obj`` with the signatures ``extra`` (user ID -> key ID -> signature)
    added to its own; ``obj`` is changed in place and returned."""
    if not extra:
        return obj
    signatures = obj.get("signatures")
    if not isinstance(signatures, dict):
        signatures = obj["signatures"] = {}
    for entity, sigs in extra.items():
        mine = signatures.get(entity)
        if not isinstance(mine, dict):
            mine = signatures[entity] = {}
        mine.update(sigs)
    return obj


def without_signatures(obj: Mapping[str, Any]) -> bytes:
    """The canonical JSON of ``obj`` less ``signatures`` and ``unsigned``: what
    two copies of one key must agree on (``POST /keys/signatures/upload``:
    "must match the key previously uploaded ... with the exception of the
    ``signatures`` property")."""
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def load(text: str) -> dict[str, Any]:
    """A stored JSON object (stored by us, so trusted)."""
    value = json.loads(text)
    assert isinstance(value, dict)
    return value
