"""Ed25519 keys and signed JSON (spec: appendices, "Signing JSON", "Signing
Details", "Checking for a Signature"; server-server API, "Retrieving server keys";
``rooms/v5.md`` .. ``v12.md``, "Signing key validity period").

A signature covers the canonical JSON of an object without its ``signatures``
and ``unsigned`` members, and is stored as
``signatures[server_name][key_id] = unpadded_base64(signature)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import nacl.exceptions
import nacl.signing

from trioserver.protocol.base64 import decode_base64, encode_base64
from trioserver.protocol.json import canonical_json
from trioserver.protocol.room_versions import RoomVersion, room_version

__all__ = [
    "ED25519",
    "MAX_KEY_VALIDITY_MS",
    "SignatureError",
    "cap_valid_until_ts",
    "decode_signing_key_base64",
    "decode_verify_key_base64",
    "encode_signing_key_base64",
    "generate_signing_key",
    "is_valid_key_id",
    "key_valid_for_event",
    "parse_key_id",
    "sign_json",
    "signature_key_ids",
    "signing_key_from_seed",
    "verify_key_base64",
    "verify_signed_json",
]

#: The one signing algorithm Matrix defines.
ED25519 = "ed25519"

#: Servers use the lesser of ``valid_until_ts`` and 7 days into the future
#: (``rooms/v5.md``, "Signing key validity period").
MAX_KEY_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000

_KEY_VERSION = re.compile(r"[a-zA-Z0-9_]+")


class SignatureError(ValueError):
    """A signature is missing, malformed or does not verify."""


def generate_signing_key() -> nacl.signing.SigningKey:
    """A new random ed25519 signing key."""
    return nacl.signing.SigningKey.generate()


def signing_key_from_seed(seed: bytes) -> nacl.signing.SigningKey:
    """The ed25519 signing key for a 32-byte seed; :class:`ValueError` otherwise."""
    if not isinstance(seed, bytes) or len(seed) != 32:
        raise ValueError("an ed25519 seed is 32 bytes")
    return nacl.signing.SigningKey(seed)


def encode_signing_key_base64(key: nacl.signing.SigningKey) -> str:
    """The key's 32-byte seed as unpadded Base64 (the inverse of
    :func:`decode_signing_key_base64`)."""
    return encode_base64(bytes(key))


def decode_signing_key_base64(text: str) -> nacl.signing.SigningKey:
    """A signing key from its seed in (unpadded) Base64; :class:`ValueError` if the
    text is not Base64 of 32 bytes."""
    return signing_key_from_seed(decode_base64(text))


def verify_key_base64(key: nacl.signing.SigningKey | nacl.signing.VerifyKey) -> str:
    """The public (verify) key as unpadded Base64, as published in ``verify_keys``."""
    verify_key = key.verify_key if isinstance(key, nacl.signing.SigningKey) else key
    return encode_base64(bytes(verify_key))


def decode_verify_key_base64(text: str) -> nacl.signing.VerifyKey:
    """A verify key from unpadded Base64; :class:`ValueError` unless it is 32 bytes."""
    raw = decode_base64(text)
    if len(raw) != 32:
        raise ValueError("an ed25519 public key is 32 bytes")
    return nacl.signing.VerifyKey(raw)


def parse_key_id(key_id: str) -> tuple[str, str]:
    """Split ``algorithm:version`` (e.g. ``ed25519:abc``). The version must match
    ``[a-zA-Z0-9_]+`` (server-server API, ``verify_keys``); :class:`ValueError`
    otherwise. The algorithm is not checked here."""
    if not isinstance(key_id, str):
        raise ValueError(f"invalid key ID {key_id!r}")
    algorithm, colon, version = key_id.partition(":")
    if not algorithm or not colon or _KEY_VERSION.fullmatch(version) is None:
        raise ValueError(f"invalid key ID {key_id!r}")
    return algorithm, version


def is_valid_key_id(key_id: str) -> bool:
    """Whether ``key_id`` is ``ed25519:<version>`` with a valid version."""
    try:
        algorithm, _ = parse_key_id(key_id)
    except ValueError:
        return False
    return algorithm == ED25519


def _signed_bytes(obj: Mapping[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def sign_json(
    obj: Mapping[str, Any],
    server_name: str,
    key_id: str,
    signing_key: nacl.signing.SigningKey,
) -> dict[str, Any]:
    """A copy of ``obj`` with a signature by ``server_name``'s key ``key_id`` added
    (appendices, "Signing Details").

    The signature covers ``obj`` without ``signatures`` and ``unsigned``.
    Signatures already present (other servers, other keys) are kept; one already
    under the same server and key ID is replaced. ``obj`` is not modified.
    Raises :class:`ValueError` if ``key_id`` is not a valid ed25519 key ID.
    """
    if not is_valid_key_id(key_id):
        raise ValueError(f"not an ed25519 key ID: {key_id!r}")
    signature = signing_key.sign(_signed_bytes(obj)).signature
    signed = dict(obj)
    existing = obj.get("signatures")
    signatures: dict[str, Any] = {}
    if isinstance(existing, Mapping):
        signatures = {
            name: dict(keys) if isinstance(keys, Mapping) else keys
            for name, keys in existing.items()
        }
    server_signatures = signatures.get(server_name)
    if not isinstance(server_signatures, dict):
        server_signatures = signatures[server_name] = {}
    server_signatures[key_id] = encode_base64(signature)
    signed["signatures"] = signatures
    return signed


def signature_key_ids(obj: Mapping[str, Any], server_name: str) -> list[str]:
    """The ed25519 key IDs under which ``server_name`` signed ``obj``, sorted (the
    first two steps of "Checking for a Signature": signatures with algorithms we
    do not understand are ignored)."""
    signatures = obj.get("signatures")
    if not isinstance(signatures, Mapping):
        return []
    entry = signatures.get(server_name)
    if not isinstance(entry, Mapping):
        return []
    return sorted(key_id for key_id in entry if is_valid_key_id(key_id))


def verify_signed_json(
    obj: Mapping[str, Any],
    server_name: str,
    key_id: str,
    verify_key: nacl.signing.VerifyKey,
) -> None:
    """Check ``server_name``'s signature with ``key_id`` on ``obj`` against
    ``verify_key`` (appendices, "Checking for a Signature").

    Returns None on success; raises :class:`SignatureError` if the signature is
    missing, is not Base64 of 64 bytes, or does not verify.
    """
    signatures = obj.get("signatures")
    if not isinstance(signatures, Mapping):
        raise SignatureError("object has no signatures")
    entry = signatures.get(server_name)
    if not isinstance(entry, Mapping):
        raise SignatureError(f"no signature from {server_name!r}")
    encoded = entry.get(key_id)
    if encoded is None:
        raise SignatureError(f"no signature from {server_name!r} with key {key_id!r}")
    if not isinstance(encoded, str):
        raise SignatureError(f"signature from {server_name!r} with key {key_id!r} is not a string")
    try:
        signature = decode_base64(encoded)
    except ValueError:
        raise SignatureError(
            f"signature from {server_name!r} with key {key_id!r} is not valid base64"
        ) from None
    if len(signature) != 64:
        raise SignatureError(f"signature from {server_name!r} with key {key_id!r} is malformed")
    try:
        verify_key.verify(_signed_bytes(obj), signature)
    except nacl.exceptions.BadSignatureError:
        raise SignatureError(f"bad signature from {server_name!r} with key {key_id!r}") from None


def cap_valid_until_ts(valid_until_ts: int, received_ts: int) -> int:
    """The ``valid_until_ts`` to trust for a key response received at
    ``received_ts``: the lesser of the published value and 7 days later
    (``rooms/v5.md``, "Signing key validity period")."""
    return min(valid_until_ts, received_ts + MAX_KEY_VALIDITY_MS)


def key_valid_for_event(
    valid_until_ts: int, origin_server_ts: int, version: RoomVersion | str
) -> bool:
    """Whether a key valid until ``valid_until_ts`` may verify an event sent at
    ``origin_server_ts`` in a room of ``version``.

    Room versions with ``enforce_key_validity`` (v5+) require
    ``valid_until_ts >= origin_server_ts``; earlier versions ignore
    ``valid_until_ts`` ("This field MUST be ignored in room versions 1, 2, 3,
    and 4"). Apply :func:`cap_valid_until_ts` to the published value first.
    """
    rv = room_version(version) if isinstance(version, str) else version
    if not rv.enforce_key_validity:
        return True
    return valid_until_ts >= origin_server_ts
