"""Verifying the signatures of remote events: the interface federation fills in.

Spec: server-server API, "Checks performed on receipt of a PDU" (2: signatures)
and "Validating hashes and signatures on received events".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import nacl.signing

from trioserver.protocol.hashes import verify_event_signature
from trioserver.protocol.signing import SignatureError, key_valid_for_event, signature_key_ids


class KeyRing(Protocol):
    async def verify_event(self, pdu: Mapping[str, Any], room_version: str) -> None:
        """Raise :class:`SignatureError` unless every required server signed ``pdu``."""
        ...


def required_signers(pdu: Mapping[str, Any], room_version: str) -> set[str]:
    """The servers whose signatures an event needs: the sender's, the event ID's
    for v1/v2 format, and the authorising server of a restricted join."""
    from trioserver.protocol.auth import authorising_server
    from trioserver.protocol.room_versions import room_version as version_of

    servers = {str(pdu.get("sender", "")).partition(":")[2]}
    version = version_of(room_version)
    if not version.event_ids_are_hashes and isinstance(pdu.get("event_id"), str):
        servers.add(str(pdu["event_id"]).partition(":")[2])
    authoriser = authorising_server(dict(pdu), room_version)
    if authoriser:
        servers.add(authoriser)
    servers.discard("")
    return servers


class StaticKeyRing:
    """Verify keys known up front: our own and any the caller adds (tests,
    and later the cache federation fills)."""

    def __init__(self) -> None:
        #: server -> key_id -> (verify key, valid_until_ts)
        self._keys: dict[str, dict[str, tuple[nacl.signing.VerifyKey, int]]] = {}

    def add_key(
        self,
        server_name: str,
        key_id: str,
        verify_key: nacl.signing.VerifyKey,
        valid_until_ts: int = 2**62,
    ) -> None:
        self._keys.setdefault(server_name, {})[key_id] = (verify_key, valid_until_ts)

    async def verify_event(self, pdu: Mapping[str, Any], room_version: str) -> None:
        for server in sorted(required_signers(pdu, room_version)):
            known = self._keys.get(server, {})
            usable = [k for k in signature_key_ids(pdu, server) if k in known]
            if not usable:
                raise SignatureError(f"no signature by a known key of {server}")
            key_id = usable[0]
            verify_key, valid_until = known[key_id]
            ts = pdu.get("origin_server_ts")
            if isinstance(ts, int) and not key_valid_for_event(valid_until, ts, room_version):
                raise SignatureError(f"key {key_id} of {server} had expired")
            verify_event_signature(dict(pdu), server, key_id, verify_key, room_version)
