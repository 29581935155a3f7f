"""Cross-signing keys and signatures (client-server API, "Cross-signing",
``POST /keys/device_signing/upload``, ``POST /keys/signatures/upload``).
Pure: stored keys reach these functions as plain data or a lookup object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import nacl.signing

from trioserver.e2ee.validation import (
    canonical_text,
    check_signatures_shape,
    decode_ed25519,
    load,
    verify_signature,
    without_signatures,
)
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.signing import ED25519

MASTER = "master"
SELF_SIGNING = "self_signing"
USER_SIGNING = "user_signing"
#: Usage -> the field of ``/keys/device_signing/upload`` that carries it.
UPLOAD_FIELDS = {
    MASTER: "master_key",
    SELF_SIGNING: "self_signing_key",
    USER_SIGNING: "user_signing_key",
}


@dataclass(frozen=True, slots=True)
class CrossSigningKey:
    usage: str
    public_key: str  #: unpadded base64 ed25519 public key
    json: dict[str, Any]
    canonical: str

    @property
    def key_id(self) -> str:
        """``ed25519:<public key>``: how signatures by this key are named."""
        return f"{ED25519}:{self.public_key}"

    def verify_key(self) -> nacl.signing.VerifyKey:
        return decode_ed25519(self.public_key, f"the {self.usage} key")


def parse_cross_signing_key(value: object, usage: str, user_id: str) -> CrossSigningKey:
    """Check an uploaded cross-signing key (``CrossSigningKey``): an object for
    ``user_id`` whose ``usage`` lists ``usage`` and whose ``keys`` holds exactly
    one ``ed25519:<public key>`` -> ``<public key>``. Signatures are checked by
    :func:`check_signed_by_master`."""
    what = UPLOAD_FIELDS[usage]
    if not isinstance(value, dict):
        raise MatrixError("M_INVALID_PARAM", f"'{what}' must be an object")
    canonical = canonical_text(value, what)
    if value.get("user_id") != user_id:
        raise MatrixError("M_INVALID_PARAM", f"{what}.user_id is not the requester's user ID")
    usages = value.get("usage")
    if not isinstance(usages, list) or not all(isinstance(u, str) for u in usages):
        raise MatrixError("M_INVALID_PARAM", f"{what}.usage must be a list of strings")
    if usage not in usages:
        raise MatrixError("M_INVALID_PARAM", f"{what}.usage must contain {usage!r}")
    keys = value.get("keys")
    if not isinstance(keys, dict) or len(keys) != 1:
        raise MatrixError("M_INVALID_PARAM", f"{what}.keys must hold exactly one key")
    ((name, public_key),) = keys.items()
    algorithm, _, key_part = name.partition(":")
    if algorithm != ED25519 or not isinstance(public_key, str) or key_part != public_key:
        raise MatrixError(
            "M_INVALID_PARAM", f"{what}.keys must be {{'ed25519:<public key>': '<public key>'}}"
        )
    decode_ed25519(public_key, f"{what}.keys")
    if "signatures" in value:
        check_signatures_shape(value["signatures"], what)
    return CrossSigningKey(usage, public_key, value, canonical)


def stored_key(usage: str, canonical: str) -> CrossSigningKey:
    """A key we stored (checked when uploaded)."""
    obj = load(canonical)
    ((_, public_key),) = obj["keys"].items()
    return CrossSigningKey(usage, public_key, obj, canonical)


def parse_upload(body: Mapping[str, Any], user_id: str) -> dict[str, CrossSigningKey]:
    """The keys of a ``/keys/device_signing/upload`` body, by usage."""
    keys: dict[str, CrossSigningKey] = {}
    for usage, field in UPLOAD_FIELDS.items():
        value = body.get(field)
        if value is not None:
            keys[usage] = parse_cross_signing_key(value, usage, user_id)
    return keys


def needs_uia(stored: Mapping[str, str], uploaded: Mapping[str, CrossSigningKey]) -> bool:
    """Whether the upload must go through user-interactive auth (``POST
    /keys/device_signing/upload``, v1.11): not when the user has no master
    key yet, nor when the request's master key and every other key it holds
    are exactly the stored ones (an idempotent retry). ``stored``: usage ->
    canonical JSON of the stored keys."""
    if not uploaded or MASTER not in stored:
        return False
    if MASTER not in uploaded:
        return True
    return any(stored.get(usage) != key.canonical for usage, key in uploaded.items())


def check_signed_by_master(key: CrossSigningKey, master: CrossSigningKey, user_id: str) -> None:
    """Self-signing and user-signing keys "must be signed by the user's master
    signing key": 400 ``M_INVALID_SIGNATURE`` otherwise."""
    verify_signature(key.json, user_id, master.key_id, master.verify_key())


# -- POST /keys/signatures/upload ------------------------------------------


@dataclass(frozen=True, slots=True)
class NewSignature:
    target_user_id: str
    target_key_id: str  #: a device ID, or a master key's public key
    signer_user_id: str
    signer_key_id: str  #: ``ed25519:<public key or device ID>``
    signature: str


class KeyLookup(Protocol):
    """The stored keys a signature upload is checked against."""

    def device_keys(self, user_id: str, device_id: str) -> dict[str, Any] | None: ...

    def cross_signing_key(self, user_id: str, usage: str) -> CrossSigningKey | None: ...


class SignatureFailure(Exception):
    """One uploaded signed object was refused (reported under ``failures``)."""

    def __init__(self, errcode: str, message: str) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"errcode": self.errcode, "error": self.message}


def _signature_by(obj: Mapping[str, Any], user_id: str, key_id: str) -> str:
    sigs = obj["signatures"].get(user_id, {})
    signature = sigs.get(key_id)
    if signature is None:
        raise SignatureFailure("M_INVALID_SIGNATURE", f"No signature by {key_id}")
    return str(signature)


def _verify(obj: Mapping[str, Any], user_id: str, key_id: str, key: nacl.signing.VerifyKey) -> None:
    try:
        verify_signature(obj, user_id, key_id, key)
    except MatrixError as exc:
        raise SignatureFailure("M_INVALID_SIGNATURE", exc.message) from None


def _same_key(uploaded: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    if without_signatures(uploaded) != without_signatures(stored):
        raise SignatureFailure(
            "M_INVALID_SIGNATURE", "The signed object does not match the stored key"
        )


def _own_master_signatures(
    user_id: str, obj: Mapping[str, Any], master: CrossSigningKey, lookup: KeyLookup
) -> list[NewSignature]:
    """Signatures of the user's own master key by their own devices."""
    _same_key(obj, master.json)
    found: list[NewSignature] = []
    stored_sigs = master.json.get("signatures", {}).get(user_id, {})
    for key_id, signature in obj["signatures"].get(user_id, {}).items():
        if key_id == master.key_id or stored_sigs.get(key_id) == signature:
            continue  # the master key's own signature, or one we hold already
        algorithm, _, device_id = key_id.partition(":")
        device = lookup.device_keys(user_id, device_id) if algorithm == ED25519 else None
        if device is None:
            raise SignatureFailure("M_INVALID_SIGNATURE", f"{key_id} is not a key of yours")
        verify_key = decode_ed25519(device["keys"][key_id], key_id)
        _verify(obj, user_id, key_id, verify_key)
        found.append(NewSignature(user_id, master.public_key, user_id, key_id, signature))
    return found


def _check_one(
    requester: str, target_user: str, key_id: str, obj: object, lookup: KeyLookup
) -> list[NewSignature]:
    if not isinstance(obj, dict):
        raise SignatureFailure("M_INVALID_PARAM", "The signed key must be an object")
    try:
        canonical_text(obj, key_id)
        check_signatures_shape(obj.get("signatures"), key_id)
    except MatrixError as exc:
        raise SignatureFailure(exc.errcode, exc.message) from None
    if not obj["signatures"].get(requester):
        raise SignatureFailure("M_INVALID_SIGNATURE", f"No signature by {requester}")
    if target_user == requester:
        master = lookup.cross_signing_key(requester, MASTER)
        if master is not None and key_id == master.public_key:
            return _own_master_signatures(requester, obj, master, lookup)
        device = lookup.device_keys(requester, key_id)
        if device is None:
            raise SignatureFailure("M_NOT_FOUND", f"Unknown device {key_id}")
        self_signing = lookup.cross_signing_key(requester, SELF_SIGNING)
        if self_signing is None:
            raise SignatureFailure("M_NOT_FOUND", "No self-signing key uploaded")
        _same_key(obj, device)
        signature = _signature_by(obj, requester, self_signing.key_id)
        _verify(obj, requester, self_signing.key_id, self_signing.verify_key())
        return [NewSignature(requester, key_id, requester, self_signing.key_id, signature)]
    master = lookup.cross_signing_key(target_user, MASTER)
    if master is None or key_id != master.public_key:
        raise SignatureFailure("M_NOT_FOUND", "Unknown key (only others' master keys are signed)")
    user_signing = lookup.cross_signing_key(requester, USER_SIGNING)
    if user_signing is None:
        raise SignatureFailure("M_NOT_FOUND", "No user-signing key uploaded")
    _same_key(obj, master.json)
    signature = _signature_by(obj, requester, user_signing.key_id)
    _verify(obj, requester, user_signing.key_id, user_signing.verify_key())
    return [NewSignature(target_user, key_id, requester, user_signing.key_id, signature)]


def check_signature_upload(
    requester: str, body: Mapping[str, Any], lookup: KeyLookup
) -> tuple[list[NewSignature], dict[str, dict[str, dict[str, str]]]]:
    """Check a ``/keys/signatures/upload`` body (user ID -> key ID -> signed
    object) from ``requester``. What may be signed:

    * the requester's own devices, with their self-signing key;
    * the requester's own master key, with their own devices' keys;
    * other users' master keys, with the requester's user-signing key.

    The signed object must equal the stored key but for ``signatures``.
    Returns the signatures to store and the ``failures`` (user ID -> key ID
    -> error): ``M_INVALID_SIGNATURE`` for a missing, wrong or mismatched
    signature, ``M_NOT_FOUND`` for an unknown key or a missing signing key,
    ``M_INVALID_PARAM`` / ``M_BAD_JSON`` for a malformed object. A body whose
    per-user entries are not objects is a 400 for the whole request.
    """
    accepted: list[NewSignature] = []
    failures: dict[str, dict[str, dict[str, str]]] = {}
    for target_user, signed in body.items():
        if not isinstance(signed, dict):
            raise MatrixError("M_INVALID_PARAM", f"the entry of {target_user!r} must be an object")
        for key_id, obj in signed.items():
            try:
                accepted.extend(_check_one(requester, target_user, key_id, obj, lookup))
            except SignatureFailure as failure:
                failures.setdefault(target_user, {})[key_id] = failure.to_json()
    return accepted, failures
