"""Bad input to the key endpoints (/keys/..., /room_keys/...) never produces
a 500: valid bodies with every node in turn replaced by odd values, and raw
bodies that are not what the endpoints expect."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from tests.api.e2ee_helpers import CrossSigning, key_of, new_device
from trioserver.testing import open_test_homeserver
from trioserver.testing.homeserver import TestClient

V3 = "/_matrix/client/v3"
ODD_VALUES: list[object] = [
    None,
    0,
    -1,
    2**70,
    1.5,
    True,
    "",
    "\ud800",
    "\x00",
    [],
    {},
    [1, "x"],
    {"a": {}},
    {"@x:localhost": {"ed25519:X": 5}},
]
RAW_BODIES = [b"", b"null", b"[]", b'"text"', b"{" * 300 + b"}" * 300, b'{"a": "\\ud800"}']


def mutations(value: Any) -> Iterator[Any]:
    """Copies of ``value`` with one node (or one key name) replaced by an odd value."""
    yield from ODD_VALUES
    if isinstance(value, dict):
        for key, child in value.items():
            for mutated in mutations(child):
                changed = copy.copy(value)
                changed[key] = mutated
                yield changed
            renamed = {("\ud800" if k == key else k): v for k, v in value.items()}
            yield renamed
    elif isinstance(value, list):
        for index, child in enumerate(value):
            for mutated in mutations(child):
                changed = list(value)
                changed[index] = mutated
                yield changed


def encode(body: Any) -> bytes:
    return json.dumps(body).encode("utf-8", "surrogatepass")


async def send_all(client: TestClient, method: str, path: str, valid: Any) -> int:
    sent = 0
    bodies = [encode(body) for body in mutations(valid)] + RAW_BODIES
    for data in bodies:
        response = await client.request(
            method, path, data=data, headers={"Content-Type": "application/json"}
        )
        assert response.status < 500, (method, path, data[:200], response.body)
        sent += 1
    return sent


async def test_no_bad_key_request_is_a_server_error() -> None:
    async with open_test_homeserver() as homeserver:
        alice = await new_device(homeserver, "alice")
        bob = await new_device(homeserver, "bob")
        client = alice.client()
        await bob.upload(device_keys=bob.device_keys(), one_time_keys=bob.one_time_keys(3))
        keys = CrossSigning(alice.user_id)
        assert (
            await client.post(f"{V3}/keys/device_signing/upload", json_body=keys.upload_body())
        ).status == 200
        backup = await client.post(
            f"{V3}/room_keys/version",
            json_body={
                "algorithm": "m.megolm_backup.v1.curve25519-aes-sha2",
                "auth_data": {"public_key": "k"},
            },
        )
        version = backup.json()["version"]
        key_data = {
            "first_message_index": 0,
            "forwarded_count": 0,
            "is_verified": False,
            "session_data": {"ciphertext": "c"},
        }
        cases: list[tuple[str, str, Any]] = [
            (
                "POST",
                f"{V3}/keys/upload",
                {
                    "device_keys": alice.device_keys(),
                    "one_time_keys": alice.one_time_keys(1),
                    "fallback_keys": alice.fallback_key(),
                },
            ),
            (
                "POST",
                f"{V3}/keys/query",
                {"device_keys": {bob.user_id: [bob.device_id]}, "timeout": 1},
            ),
            (
                "POST",
                f"{V3}/keys/claim",
                {"one_time_keys": {bob.user_id: {bob.device_id: "signed_curve25519"}}},
            ),
            ("POST", f"{V3}/keys/device_signing/upload", CrossSigning(alice.user_id).upload_body()),
            (
                "POST",
                f"{V3}/keys/signatures/upload",
                {
                    alice.user_id: {
                        alice.device_id: alice.device_keys(),
                        key_of(keys.master): keys.master_key(),
                    },
                    bob.user_id: {"KEY": keys.master_key()},
                },
            ),
            (
                "POST",
                f"{V3}/room_keys/version",
                {"algorithm": "a", "auth_data": {"public_key": "k"}},
            ),
            (
                "PUT",
                f"{V3}/room_keys/version/{version}",
                {"algorithm": "a", "auth_data": {}, "version": version},
            ),
            (
                "PUT",
                f"{V3}/room_keys/keys?version={version}",
                {"rooms": {"!r:x": {"sessions": {"s": key_data}}}},
            ),
            ("PUT", f"{V3}/room_keys/keys/!r:x?version={version}", {"sessions": {"s": key_data}}),
            ("PUT", f"{V3}/room_keys/keys/!r:x/s?version={version}", key_data),
            ("PUT", f"{V3}/room_keys/keys/%ED%A0%80/s?version=%00", key_data),
        ]
        sent = 0
        for method, path, valid in cases:
            sent += await send_all(client, method, path, valid)
        for path in (
            f"{V3}/room_keys/version/%00",
            f"{V3}/room_keys/version/99999999999999999999999",
            f"{V3}/room_keys/keys?version=-1",
            f"{V3}/room_keys/keys/%ED%A0%80?version={version}",
            f"{V3}/room_keys/keys/!r:x/%00?version={version}",
        ):
            for method in ("GET", "DELETE"):
                response = await client.request(method, path)
                assert response.status < 500, (method, path, response.body)
        assert sent > 500
