"""Cross-signing: POST /keys/device_signing/upload (with UIA when replacing
keys) and POST /keys/signatures/upload, with real ed25519 keys; what
/keys/query shows to whom."""

from __future__ import annotations

from typing import Any

import nacl.signing
import pytest

from tests.api.e2ee_helpers import (
    CrossSigning,
    Device,
    cross_signing_key,
    key_of,
    new_device,
    sign_with,
)
from trioserver.testing import TestHomeserver
from trioserver.testing.homeserver import TestResponse

DEVICE_SIGNING = "/_matrix/client/v3/keys/device_signing/upload"
SIGNATURES = "/_matrix/client/v3/keys/signatures/upload"
QUERY = "/_matrix/client/v3/keys/query"


async def upload_cross_signing(device: Device, body: dict[str, Any]) -> TestResponse:
    return await device.client().post(DEVICE_SIGNING, json_body=body)


async def query(device: Device, *users: str) -> dict[str, Any]:
    response = await device.client().post(
        QUERY, json_body={"device_keys": {user: [] for user in users}}
    )
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


def password_auth(device: Device, session: str) -> dict[str, Any]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": device.user_id},
        "password": "password",
        "session": session,
    }


async def test_first_upload_needs_no_uia_and_query_shows_keys_to_the_right_users(
    homeserver: TestHomeserver,
) -> None:
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    keys = CrossSigning(alice.user_id)
    body = keys.upload_body()
    response = await upload_cross_signing(alice, body)
    assert response.status == 200, response.body
    assert response.json() == {}
    mine = await query(alice, alice.user_id)
    assert mine["master_keys"] == {alice.user_id: body["master_key"]}
    assert mine["self_signing_keys"] == {alice.user_id: body["self_signing_key"]}
    assert mine["user_signing_keys"] == {alice.user_id: body["user_signing_key"]}
    theirs = await query(bob, alice.user_id)
    assert theirs["master_keys"] == {alice.user_id: body["master_key"]}
    assert theirs["self_signing_keys"] == {alice.user_id: body["self_signing_key"]}
    assert theirs["user_signing_keys"] == {}  # only for the owner
    # The same keys again (a lost response, retried): still no UIA.
    assert (await upload_cross_signing(alice, body)).status == 200


async def test_replacing_keys_needs_the_password(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    assert (
        await upload_cross_signing(alice, CrossSigning(alice.user_id).upload_body())
    ).status == 200
    new = CrossSigning(alice.user_id).upload_body()
    response = await upload_cross_signing(alice, new)
    assert response.status == 401
    challenge = response.json()
    assert {"stages": ["m.login.password"]} in challenge["flows"]
    wrong = {**password_auth(alice, challenge["session"]), "password": "wrong"}
    response = await upload_cross_signing(alice, {**new, "auth": wrong})
    assert response.status == 401
    assert response.json()["errcode"] == "M_FORBIDDEN"
    response = await upload_cross_signing(
        alice, {**new, "auth": password_auth(alice, challenge["session"])}
    )
    assert response.status == 200, response.body
    assert (await query(alice, alice.user_id))["master_keys"][alice.user_id] == new["master_key"]
    # Only a new self-signing key, signed by the stored master: UIA as well.
    keys = CrossSigning(alice.user_id)
    only_ssk = {
        "self_signing_key": cross_signing_key(
            alice.user_id, "self_signing", keys.self_signing, keys.master
        )
    }
    assert (await upload_cross_signing(alice, only_ssk)).status == 401


def _bad(body: dict[str, Any], field: str, **changes: Any) -> dict[str, Any]:
    return {**body, field: {**body[field], **changes}}


@pytest.mark.parametrize(
    ("make", "status", "errcode"),
    [
        pytest.param(
            lambda k: _bad(k.upload_body(), "master_key", user_id="@bob:localhost"),
            400,
            "M_INVALID_PARAM",
            id="other-user",
        ),
        pytest.param(
            lambda k: _bad(k.upload_body(), "master_key", usage=["self_signing"]),
            400,
            "M_INVALID_PARAM",
            id="wrong-usage",
        ),
        pytest.param(
            lambda k: _bad(
                k.upload_body(), "master_key", keys={"ed25519:a": "a", "ed25519:b": "b"}
            ),
            400,
            "M_INVALID_PARAM",
            id="two-keys",
        ),
        pytest.param(
            lambda k: _bad(k.upload_body(), "master_key", keys={"ed25519:abc": "abc"}),
            400,
            "M_INVALID_PARAM",
            id="not-a-key",
        ),
        pytest.param(
            lambda k: {
                **k.upload_body(),
                "self_signing_key": cross_signing_key(k.user_id, "self_signing", k.self_signing),
            },
            400,
            "M_INVALID_SIGNATURE",
            id="ssk-unsigned",
        ),
        pytest.param(
            lambda k: {
                **k.upload_body(),
                "user_signing_key": cross_signing_key(
                    k.user_id, "user_signing", k.user_signing, nacl.signing.SigningKey.generate()
                ),
            },
            400,
            "M_INVALID_SIGNATURE",
            id="usk-signed-by-another-key",
        ),
        pytest.param(
            lambda k: {"self_signing_key": k.upload_body()["self_signing_key"]},
            400,
            "M_MISSING_PARAM",
            id="no-master-anywhere",
        ),
        pytest.param(lambda k: {"master_key": "nope"}, 400, "M_INVALID_PARAM", id="not-an-object"),
    ],
)
async def test_bad_cross_signing_keys(
    homeserver: TestHomeserver, make: Any, status: int, errcode: str
) -> None:
    alice = await new_device(homeserver, "alice")
    response = await upload_cross_signing(alice, make(CrossSigning(alice.user_id)))
    assert response.status == status, response.body
    assert response.json()["errcode"] == errcode
    assert (await query(alice, alice.user_id))["master_keys"] == {}


async def test_a_key_equal_to_a_device_id_is_forbidden(homeserver: TestHomeserver) -> None:
    await homeserver.register_user("alice")
    keys = CrossSigning("@alice:localhost")
    session = await homeserver.services.accounts.login_with_password(
        "alice", "password", device_id=key_of(keys.master)
    )
    device = Device(homeserver, session.user_id, session.device_id, session.access_token)
    response = await upload_cross_signing(device, keys.upload_body())
    assert response.status == 403
    assert response.json()["errcode"] == "M_FORBIDDEN"


async def _set_up(homeserver: TestHomeserver, localpart: str) -> tuple[Device, CrossSigning]:
    device = await new_device(homeserver, localpart)
    assert (await device.upload(device_keys=device.device_keys())).status == 200
    keys = CrossSigning(device.user_id)
    assert (await upload_cross_signing(device, keys.upload_body())).status == 200
    return device, keys


async def upload_signatures(device: Device, body: dict[str, Any]) -> dict[str, Any]:
    response = await device.client().post(SIGNATURES, json_body=body)
    assert response.status == 200, response.body
    result: dict[str, Any] = response.json()
    return result


async def test_signatures_of_own_devices_and_master_key(homeserver: TestHomeserver) -> None:
    alice, keys = await _set_up(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    signed_device = sign_with(alice.device_keys(), alice.user_id, keys.self_signing)
    signed_master = alice.sign(keys.master_key())
    body = {alice.user_id: {alice.device_id: signed_device, key_of(keys.master): signed_master}}
    assert await upload_signatures(alice, body) == {"failures": {}}
    seen = await query(bob, alice.user_id)
    device_sigs = seen["device_keys"][alice.user_id][alice.device_id]["signatures"]
    assert device_sigs == signed_device["signatures"]
    master_sigs = seen["master_keys"][alice.user_id]["signatures"][alice.user_id]
    assert master_sigs[alice.key_id] == signed_master["signatures"][alice.user_id][alice.key_id]


async def test_signing_another_users_master_key_is_seen_only_by_the_signer(
    homeserver: TestHomeserver,
) -> None:
    alice, alice_keys = await _set_up(homeserver, "alice")
    bob, bob_keys = await _set_up(homeserver, "bob")
    carol = await new_device(homeserver, "carol")
    signed = sign_with(bob_keys.master_key(), alice.user_id, alice_keys.user_signing)
    body = {bob.user_id: {key_of(bob_keys.master): signed}}
    assert await upload_signatures(alice, body) == {"failures": {}}
    usk_id = f"ed25519:{key_of(alice_keys.user_signing)}"
    by_alice = (await query(alice, bob.user_id))["master_keys"][bob.user_id]
    assert (
        by_alice["signatures"][alice.user_id][usk_id] == signed["signatures"][alice.user_id][usk_id]
    )
    for viewer in (bob, carol):
        master = (await query(viewer, bob.user_id))["master_keys"][bob.user_id]
        assert alice.user_id not in master.get("signatures", {})


async def test_signature_failures_are_reported_per_key(homeserver: TestHomeserver) -> None:
    alice, keys = await _set_up(homeserver, "alice")
    bob, bob_keys = await _set_up(homeserver, "bob")
    dave = await new_device(homeserver, "dave")  # no cross-signing keys at all
    wrong_key = nacl.signing.SigningKey.generate()
    forged = alice.device_keys()
    ssk_id = f"ed25519:{key_of(keys.self_signing)}"
    forged["signatures"][alice.user_id][ssk_id] = sign_with(
        alice.device_keys(), alice.user_id, wrong_key
    )["signatures"][alice.user_id][f"ed25519:{key_of(wrong_key)}"]
    changed = sign_with(
        {**alice.device_keys(), "algorithms": ["x"]}, alice.user_id, keys.self_signing
    )
    body = {
        alice.user_id: {
            alice.device_id: forged,  # signature does not verify
            "NOSUCHDEVICE": sign_with(alice.device_keys(), alice.user_id, keys.self_signing),
            "not-an-object": 5,
        },
        bob.user_id: {
            bob.device_id: sign_with(bob.device_keys(), alice.user_id, keys.user_signing),
            key_of(bob_keys.master): sign_with(bob_keys.master_key(), alice.user_id, wrong_key),
        },
    }
    failures = (await upload_signatures(alice, body))["failures"]
    assert failures[alice.user_id][alice.device_id]["errcode"] == "M_INVALID_SIGNATURE"
    assert failures[alice.user_id]["NOSUCHDEVICE"]["errcode"] == "M_NOT_FOUND"
    assert failures[alice.user_id]["not-an-object"]["errcode"] == "M_INVALID_PARAM"
    assert failures[bob.user_id][bob.device_id]["errcode"] == "M_NOT_FOUND"
    assert failures[bob.user_id][key_of(bob_keys.master)]["errcode"] == "M_INVALID_SIGNATURE"
    # A signed object that differs from the stored key.
    failures = (await upload_signatures(alice, {alice.user_id: {alice.device_id: changed}}))[
        "failures"
    ]
    assert failures[alice.user_id][alice.device_id]["errcode"] == "M_INVALID_SIGNATURE"
    # No self-signing key to sign with.
    assert (await dave.upload(device_keys=dave.device_keys())).status == 200
    signed = sign_with(dave.device_keys(), dave.user_id, keys.self_signing)
    failures = (await upload_signatures(dave, {dave.user_id: {dave.device_id: signed}}))["failures"]
    assert failures[dave.user_id][dave.device_id]["errcode"] == "M_NOT_FOUND"
    # Nothing of it was stored.
    seen = await query(alice, alice.user_id)
    assert set(
        seen["device_keys"][alice.user_id][alice.device_id]["signatures"][alice.user_id]
    ) == {alice.key_id}


async def test_a_malformed_signatures_body_is_400(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    response = await alice.client().post(SIGNATURES, json_body={alice.user_id: "x"})
    assert response.status == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"


async def test_replacing_a_self_signing_key_drops_its_signatures(
    homeserver: TestHomeserver,
) -> None:
    alice, keys = await _set_up(homeserver, "alice")
    signed = sign_with(alice.device_keys(), alice.user_id, keys.self_signing)
    await upload_signatures(alice, {alice.user_id: {alice.device_id: signed}})
    new_ssk = nacl.signing.SigningKey.generate()
    body = {
        "self_signing_key": cross_signing_key(alice.user_id, "self_signing", new_ssk, keys.master),
    }
    response = await upload_cross_signing(alice, body)
    assert response.status == 401
    body["auth"] = password_auth(alice, response.json()["session"])
    assert (await upload_cross_signing(alice, body)).status == 200
    seen = await query(alice, alice.user_id)
    assert set(
        seen["device_keys"][alice.user_id][alice.device_id]["signatures"][alice.user_id]
    ) == {alice.key_id}


async def test_guests_cannot_upload_cross_signing_keys(homeserver: TestHomeserver) -> None:
    session = await homeserver.services.accounts.register_guest()
    client = homeserver.client(session.access_token)
    response = await client.post(DEVICE_SIGNING, json_body={})
    assert response.status == 403
    assert response.json()["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"
