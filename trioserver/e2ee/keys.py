"""The key-management operations behind ``/keys/...`` (client-server API,
"Key management API", "Cross-signing"). Each write is one transaction of the
database writer, so checks against stored keys and the writes they allow
are atomic (two concurrent claims never get the same one-time key; a
signature is never stored for a key replaced in the meantime).

Every change to a user's devices, device keys, cross-signing keys or their
signatures appends to the device-list stream (:mod:`trioserver.db.e2e_keys`)
in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from trioserver.db import Database
from trioserver.db import cross_signing as cs_sql
from trioserver.db import devices as devices_sql
from trioserver.db import e2e_keys as sql
from trioserver.e2ee.cross_signing import (
    MASTER,
    SELF_SIGNING,
    USER_SIGNING,
    CrossSigningKey,
    check_signature_upload,
    check_signed_by_master,
    needs_uia,
    stored_key,
)
from trioserver.e2ee.validation import (
    UploadedKey,
    load,
    merge_signatures,
    validate_device_keys,
    validate_key_map,
)
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import InvalidIdentifier, UserID
from trioserver.util.clock import Clock

#: The algorithm every Olm client counts; always reported, as zero if need be.
SIGNED_CURVE25519 = "signed_curve25519"
#: The unstable name of ``fallback_keys`` (MSC2732), still sent by some clients.
_UNSTABLE_FALLBACK_KEYS = "org.matrix.msc2732.fallback_keys"
#: What ``failures`` says of a server we cannot reach (no federation yet).
_UNREACHABLE = {"status": 503, "message": "This server does not federate yet"}


class UiaRequired(Exception):
    """A cross-signing upload turned out to need user-interactive auth when
    it came to be written (the stored keys changed since the check)."""


def _rows(keys: list[UploadedKey]) -> list[sql.KeyRow]:
    return [sql.KeyRow(k.algorithm, k.key_id, k.canonical) for k in keys]


def _split_users(
    server_name: str, users: Mapping[str, Any], field: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Local users' entries, and ``failures`` for the servers of the others."""
    local: dict[str, Any] = {}
    failures: dict[str, dict[str, Any]] = {}
    for user_id, value in users.items():
        try:
            server = UserID.parse(user_id).server_name
        except InvalidIdentifier:
            raise MatrixError("M_INVALID_PARAM", f"{field}: {user_id!r} is not a user ID") from None
        if server == server_name:
            local[user_id] = value
        else:
            failures[server] = dict(_UNREACHABLE)
    return local, failures


class _TxnLookup:
    """Stored keys as :class:`~trioserver.e2ee.cross_signing.KeyLookup` wants them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._cross_signing: dict[str, dict[str, str]] = {}

    def device_keys(self, user_id: str, device_id: str) -> dict[str, Any] | None:
        text = sql.get_device_keys_txn(self._conn, user_id, device_id)
        return None if text is None else load(text)

    def cross_signing_key(self, user_id: str, usage: str) -> CrossSigningKey | None:
        stored = self._cross_signing.get(user_id)
        if stored is None:
            stored = self._cross_signing[user_id] = cs_sql.get_cross_signing_keys_txn(
                self._conn, user_id
            )
        return stored_key(usage, stored[usage]) if usage in stored else None


class E2eKeys:
    """The end-to-end keys of one server's users."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        server_name: str,
        device_list_changed: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._server_name = server_name
        #: called after commit with each user whose device list changed (wakes /sync)
        self._device_list_changed = device_list_changed

    async def _changed(self, user_ids: Iterable[str]) -> None:
        if self._device_list_changed is not None:
            for user_id in sorted(set(user_ids)):
                await self._device_list_changed(user_id)

    # -- POST /keys/upload --------------------------------------------------

    async def upload(self, user_id: str, device_id: str, body: Mapping[str, Any]) -> dict[str, int]:
        """Store the device keys, one-time keys and fallback keys of a
        ``/keys/upload`` body, all or nothing; returns ``one_time_key_counts``."""
        device_keys = None
        if body.get("device_keys") is not None:
            device_keys = validate_device_keys(body["device_keys"], user_id, device_id)
        one_time: list[UploadedKey] = []
        if body.get("one_time_keys") is not None:
            one_time = validate_key_map(
                body["one_time_keys"], "one_time_keys", one_per_algorithm=False
            )
        fallback_field = "fallback_keys" if "fallback_keys" in body else _UNSTABLE_FALLBACK_KEYS
        fallback: list[UploadedKey] = []
        if body.get(fallback_field) is not None:
            fallback = validate_key_map(
                body[fallback_field], fallback_field, one_per_algorithm=True
            )
        now_ms = self._clock.time_ms()

        def txn(conn: sqlite3.Connection) -> dict[str, int]:
            if not sql.device_exists_txn(conn, user_id, device_id):
                raise MatrixError("M_UNKNOWN_TOKEN", "The device was deleted", soft_logout=False)
            if device_keys is not None:
                cross_signing = cs_sql.get_cross_signing_keys_txn(conn, user_id)
                if any(stored_key(u, j).public_key == device_id for u, j in cross_signing.items()):
                    raise MatrixError("M_FORBIDDEN", "The device ID is a cross-signing key's")
                sql.set_device_keys_txn(
                    conn, user_id, device_id, device_keys.canonical, device_keys.ed25519_key, now_ms
                )
            sql.add_one_time_keys_txn(conn, user_id, device_id, _rows(one_time))
            sql.set_fallback_keys_txn(conn, user_id, device_id, _rows(fallback))
            return sql.one_time_key_counts_txn(conn, user_id, device_id)

        try:
            counts = await self._db.run_write(txn)
        except sql.OneTimeKeyConflict as exc:
            raise MatrixError(
                "M_INVALID_PARAM", f"One-time key {exc.name} already exists with other content"
            ) from None
        if device_keys is not None:
            await self._changed([user_id])
        counts.setdefault(SIGNED_CURVE25519, 0)
        return counts

    # -- POST /keys/query ---------------------------------------------------

    async def query(self, requester: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Answer ``/keys/query``: device keys (with ``unsigned`` display names)
        and cross-signing keys of the users asked for, with the signatures
        ``requester`` may see ("Key and signature security"); user-signing
        keys only of the requester. Remote users' servers go in ``failures``."""
        wanted = body.get("device_keys")
        if wanted is None:
            raise MatrixError("M_MISSING_PARAM", "Missing 'device_keys'")
        if not isinstance(wanted, dict):
            raise MatrixError("M_INVALID_PARAM", "'device_keys' must be an object")
        for user_id, device_ids in wanted.items():
            if not isinstance(device_ids, list) or not all(isinstance(d, str) for d in device_ids):
                raise MatrixError(
                    "M_INVALID_PARAM", f"device_keys[{user_id!r}] must be a list of device IDs"
                )
        local, failures = _split_users(self._server_name, wanted, "device_keys")
        result = await self._db.run_read(_query_txn, requester, local)
        result["failures"] = failures
        return result

    # -- POST /keys/claim ---------------------------------------------------

    async def claim(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Answer ``/keys/claim``: one key per device and algorithm asked for,
        a one-time key (handed out once, oldest first) or else the fallback
        key. Unknown users and devices are simply absent from the result."""
        wanted = body.get("one_time_keys")
        if wanted is None:
            raise MatrixError("M_MISSING_PARAM", "Missing 'one_time_keys'")
        if not isinstance(wanted, dict):
            raise MatrixError("M_INVALID_PARAM", "'one_time_keys' must be an object")
        for user_id, devices in wanted.items():
            if not isinstance(devices, dict) or not all(
                isinstance(a, str) for a in devices.values()
            ):
                raise MatrixError(
                    "M_INVALID_PARAM",
                    f"one_time_keys[{user_id!r}] must map devices to algorithms",
                )
        local, failures = _split_users(self._server_name, wanted, "one_time_keys")
        triples = [
            (user_id, device_id, algorithm)
            for user_id, devices in local.items()
            for device_id, algorithm in devices.items()
        ]
        claimed = await self._db.run_write(sql.claim_keys_txn, triples) if triples else []
        keys: dict[str, dict[str, dict[str, Any]]] = {}
        for key in claimed:
            device = keys.setdefault(key.user_id, {}).setdefault(key.device_id, {})
            device[f"{key.algorithm}:{key.key_id}"] = json.loads(key.key_json)
        return {"one_time_keys": keys, "failures": failures}

    # -- cross-signing -------------------------------------------------------

    async def cross_signing_needs_uia(
        self, user_id: str, keys: Mapping[str, CrossSigningKey]
    ) -> bool:
        stored = await self._db.run_read(cs_sql.get_cross_signing_keys_txn, user_id)
        return needs_uia(stored, keys)

    async def upload_cross_signing_keys(
        self, user_id: str, keys: Mapping[str, CrossSigningKey], *, authenticated: bool
    ) -> None:
        """Store cross-signing keys (``/keys/device_signing/upload``). Self-
        and user-signing keys must be signed by the master key uploaded with
        them or else the stored one (400 ``M_INVALID_SIGNATURE``; no master
        key at all: 400 ``M_MISSING_PARAM``); no public key may be one of the
        user's device IDs (403). Unless ``authenticated`` (UIA done), raises
        :class:`UiaRequired` when the stored keys call for it."""
        now_ms = self._clock.time_ms()

        def txn(conn: sqlite3.Connection) -> None:
            stored = cs_sql.get_cross_signing_keys_txn(conn, user_id)
            if not authenticated and needs_uia(stored, keys):
                raise UiaRequired
            master = keys.get(MASTER)
            if master is None and MASTER in stored:
                master = stored_key(MASTER, stored[MASTER])
            for usage in (SELF_SIGNING, USER_SIGNING):
                if usage in keys:
                    if master is None:
                        raise MatrixError("M_MISSING_PARAM", "No master key available")
                    check_signed_by_master(keys[usage], master, user_id)
            device_ids = set(devices_sql.device_ids_txn(conn, user_id))
            if any(key.public_key in device_ids for key in keys.values()):
                raise MatrixError("M_FORBIDDEN", "Key ID in use as a device ID")
            visible = private = False
            for usage, key in keys.items():
                if cs_sql.set_cross_signing_key_txn(
                    conn, user_id, usage, key.public_key, key.canonical, now_ms
                ):
                    private = private or usage == USER_SIGNING
                    visible = visible or usage != USER_SIGNING
            if visible:
                sql.record_device_list_change_txn(conn, user_id)
            if private:
                sql.record_device_list_change_txn(conn, user_id, only_for=user_id)

        await self._db.run_write(txn)
        await self._changed([user_id])

    async def upload_signatures(
        self, requester: str, body: Mapping[str, Any]
    ) -> dict[str, dict[str, dict[str, str]]]:
        """Check and store the signatures of ``/keys/signatures/upload``
        (see :func:`~trioserver.e2ee.cross_signing.check_signature_upload`);
        returns the ``failures``."""

        def txn(conn: sqlite3.Connection) -> dict[str, dict[str, dict[str, str]]]:
            accepted, failures = check_signature_upload(requester, body, _TxnLookup(conn))
            rows = [
                cs_sql.SignatureRow(
                    s.target_user_id,
                    s.target_key_id,
                    s.signer_user_id,
                    s.signer_key_id,
                    s.signature,
                )
                for s in accepted
            ]
            changed = cs_sql.store_signatures_txn(conn, rows)
            for target in sorted({row.target_user_id for row in changed}):
                only_for = None if target == requester else requester
                sql.record_device_list_change_txn(conn, target, only_for=only_for)
                targets.add(target)
            return failures

        targets: set[str] = set()
        failures = await self._db.run_write(txn)
        await self._changed(targets)
        return failures


def _query_txn(
    conn: sqlite3.Connection, requester: str, local: Mapping[str, list[str]]
) -> dict[str, Any]:
    device_keys: dict[str, dict[str, Any]] = {}
    master_keys: dict[str, Any] = {}
    self_signing_keys: dict[str, Any] = {}
    user_signing_keys: dict[str, Any] = {}
    for user_id, device_ids in local.items():
        if not sql.local_user_exists_txn(conn, user_id):
            continue
        devices = sql.query_device_keys_txn(conn, user_id, device_ids or None)
        # Signatures on devices: only by the owner's own self-signing key.
        signatures = cs_sql.signatures_on_txn(
            conn, user_id, [d.device_id for d in devices], [user_id]
        )
        found: dict[str, Any] = {}
        for device in devices:
            obj = merge_signatures(load(device.key_json), signatures.get(device.device_id, {}))
            unsigned: dict[str, Any] = {}
            if device.display_name is not None:
                unsigned["device_display_name"] = device.display_name
            obj["unsigned"] = unsigned
            found[device.device_id] = obj
        device_keys[user_id] = found
        stored = cs_sql.get_cross_signing_keys_txn(conn, user_id)
        if MASTER in stored:
            master = stored_key(MASTER, stored[MASTER])
            # By the owner's devices, and by the requester's user-signing key.
            extra = cs_sql.signatures_on_txn(
                conn, user_id, [master.public_key], {user_id, requester}
            )
            master_keys[user_id] = merge_signatures(master.json, extra.get(master.public_key, {}))
        if SELF_SIGNING in stored:
            self_signing_keys[user_id] = load(stored[SELF_SIGNING])
        if USER_SIGNING in stored and user_id == requester:
            user_signing_keys[user_id] = load(stored[USER_SIGNING])
    return {
        "device_keys": device_keys,
        "master_keys": master_keys,
        "self_signing_keys": self_signing_keys,
        "user_signing_keys": user_signing_keys,
    }
