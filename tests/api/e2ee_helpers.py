"""Shared by the end-to-end encryption tests: devices with real ed25519 keys
(pynacl) that sign what they upload the way clients do, and cross-signing keys."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import canonicaljson
import nacl.signing

from trioserver.protocol.base64 import encode_base64
from trioserver.testing import TestHomeserver
from trioserver.testing.homeserver import TestClient, TestResponse


def sign_json(
    obj: dict[str, Any], user_id: str, key_id: str, key: nacl.signing.SigningKey
) -> dict[str, Any]:
    """``obj`` with ``user_id``'s signature by ``key`` under ``key_id`` added, as
    clients compute it (appendices, "Signing JSON"); done here independently of
    the server's code. Key IDs may hold any characters (``ed25519:<base64>``)."""
    unsigned = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    signature = encode_base64(key.sign(canonicaljson.encode_canonical_json(unsigned)).signature)
    signed = dict(obj)
    signatures = {entity: dict(sigs) for entity, sigs in obj.get("signatures", {}).items()}
    signatures.setdefault(user_id, {})[key_id] = signature
    signed["signatures"] = signatures
    return signed


def random_key() -> str:
    """A random 32-byte public key (curve25519 stand-in) in unpadded base64."""
    return encode_base64(os.urandom(32))


def key_of(signing_key: nacl.signing.SigningKey) -> str:
    return encode_base64(bytes(signing_key.verify_key))


@dataclass
class Device:
    """A logged-in device with its own ed25519 key."""

    hs: TestHomeserver
    user_id: str
    device_id: str
    access_token: str
    signing_key: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)
    curve_key: str = field(default_factory=random_key)

    @property
    def key_id(self) -> str:
        return f"ed25519:{self.device_id}"

    @property
    def ed25519(self) -> str:
        return key_of(self.signing_key)

    def client(self) -> TestClient:
        return self.hs.client(self.access_token)

    def sign(self, obj: dict[str, Any]) -> dict[str, Any]:
        return sign_json(obj, self.user_id, self.key_id, self.signing_key)

    def device_keys(self) -> dict[str, Any]:
        return self.sign(
            {
                "user_id": self.user_id,
                "device_id": self.device_id,
                "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
                "keys": {
                    f"curve25519:{self.device_id}": self.curve_key,
                    self.key_id: self.ed25519,
                },
            }
        )

    def one_time_keys(self, count: int, start: int = 0) -> dict[str, Any]:
        return {
            f"signed_curve25519:AAAA{i}": self.sign({"key": random_key()})
            for i in range(start, start + count)
        }

    def fallback_key(self, key_id: str = "FB1") -> dict[str, Any]:
        return {f"signed_curve25519:{key_id}": self.sign({"key": random_key(), "fallback": True})}

    async def upload(self, **body: Any) -> TestResponse:
        return await self.client().post("/_matrix/client/v3/keys/upload", json_body=body)


async def new_device(hs: TestHomeserver, localpart: str) -> Device:
    session = await hs.register_user(localpart)
    return Device(hs, session.user_id, session.device_id, session.access_token)


def cross_signing_key(
    user_id: str,
    usage: str,
    key: nacl.signing.SigningKey,
    signed_by: nacl.signing.SigningKey | None = None,
) -> dict[str, Any]:
    """A cross-signing key object, signed by ``signed_by`` (a master key)."""
    public = key_of(key)
    obj: dict[str, Any] = {
        "user_id": user_id,
        "usage": [usage],
        "keys": {f"ed25519:{public}": public},
    }
    if signed_by is not None:
        obj = sign_json(obj, user_id, f"ed25519:{key_of(signed_by)}", signed_by)
    return obj


@dataclass
class CrossSigning:
    """A user's three cross-signing keys."""

    user_id: str
    master: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)
    self_signing: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)
    user_signing: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)

    def upload_body(self) -> dict[str, Any]:
        return {
            "master_key": cross_signing_key(self.user_id, "master", self.master),
            "self_signing_key": cross_signing_key(
                self.user_id, "self_signing", self.self_signing, self.master
            ),
            "user_signing_key": cross_signing_key(
                self.user_id, "user_signing", self.user_signing, self.master
            ),
        }

    def master_key(self) -> dict[str, Any]:
        return cross_signing_key(self.user_id, "master", self.master)


def sign_with(obj: dict[str, Any], user_id: str, key: nacl.signing.SigningKey) -> dict[str, Any]:
    """``obj`` signed by ``user_id``'s cross-signing key ``key``."""
    return sign_json(obj, user_id, f"ed25519:{key_of(key)}", key)
