"""POST /keys/upload, /keys/query, /keys/claim: shapes, signatures, one-time
and fallback keys, and claims that never hand out a key twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
import trio.testing

from tests.api.e2ee_helpers import Device, new_device, random_key
from trioserver.db import e2e_keys as e2e_sql
from trioserver.testing import TestHomeserver, open_test_homeserver

UPLOAD = "/_matrix/client/v3/keys/upload"
QUERY = "/_matrix/client/v3/keys/query"
CLAIM = "/_matrix/client/v3/keys/claim"


async def claim(device: Device, wanted: dict[str, Any]) -> dict[str, Any]:
    response = await device.client().post(CLAIM, json_body={"one_time_keys": wanted})
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


async def test_upload_answers_one_time_key_counts(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    response = await alice.upload(device_keys=alice.device_keys())
    assert response.status == 200
    assert response.json() == {"one_time_key_counts": {"signed_curve25519": 0}}
    response = await alice.upload(one_time_keys=alice.one_time_keys(5))
    assert response.json() == {"one_time_key_counts": {"signed_curve25519": 5}}
    response = await alice.upload(one_time_keys={"curve25519:X1": random_key()})
    assert response.json()["one_time_key_counts"] == {"signed_curve25519": 5, "curve25519": 1}


async def test_query_returns_the_device_keys_as_uploaded_with_the_display_name(
    homeserver: TestHomeserver,
) -> None:
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    await homeserver.services.accounts.devices.rename(
        alice.user_id, alice.device_id, "Alice's phone"
    )
    keys = alice.device_keys()
    assert (await alice.upload(device_keys=keys)).status == 200
    response = await bob.client().post(QUERY, json_body={"device_keys": {alice.user_id: []}})
    assert response.status == 200
    body = response.json()
    got = body["device_keys"][alice.user_id][alice.device_id]
    assert got == {**keys, "unsigned": {"device_display_name": "Alice's phone"}}
    assert body["failures"] == {}
    # Asking for listed devices: unknown ones are simply missing.
    response = await bob.client().post(
        QUERY, json_body={"device_keys": {alice.user_id: [alice.device_id, "NOPE"]}}
    )
    assert list(response.json()["device_keys"][alice.user_id]) == [alice.device_id]


async def test_query_of_unknown_and_keyless_users(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")  # no keys uploaded
    response = await alice.client().post(
        QUERY, json_body={"device_keys": {"@nobody:localhost": [], bob.user_id: []}}
    )
    assert response.json()["device_keys"] == {bob.user_id: {}}


async def test_query_reports_remote_servers_as_failures(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    response = await alice.client().post(
        QUERY, json_body={"device_keys": {"@carol:elsewhere.example": []}}
    )
    assert response.status == 200
    body = response.json()
    assert body["device_keys"] == {}
    assert set(body["failures"]) == {"elsewhere.example"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"device_keys": []},
        {"device_keys": {"@a:localhost": "DEV"}},
        {"device_keys": {"@a:localhost": [1]}},
        {"device_keys": {"not-a-user": []}},
    ],
)
async def test_bad_queries_are_400(homeserver: TestHomeserver, body: dict[str, Any]) -> None:
    alice = await new_device(homeserver, "alice")
    response = await alice.client().post(QUERY, json_body=body)
    assert response.status == 400
    assert response.json()["errcode"] in ("M_MISSING_PARAM", "M_INVALID_PARAM")


def _tamper(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**obj, **changes}


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        pytest.param(
            lambda d, k: _tamper(k, user_id="@mallory:localhost"), "M_INVALID_PARAM", id="user"
        ),
        pytest.param(lambda d, k: _tamper(k, device_id="OTHER"), "M_INVALID_PARAM", id="device"),
        pytest.param(
            lambda d, k: _tamper(k, algorithms="m.megolm.v1.aes-sha2"),
            "M_INVALID_PARAM",
            id="algorithms-not-a-list",
        ),
        pytest.param(
            lambda d, k: _tamper(k, keys={f"curve25519:{d.device_id}": "x"}),
            "M_INVALID_PARAM",
            id="no-ed25519-key",
        ),
        pytest.param(
            lambda d, k: _tamper(k, keys={d.key_id: "not base64!"}),
            "M_INVALID_PARAM",
            id="bad-ed25519-key",
        ),
        pytest.param(
            lambda d, k: {x: v for x, v in k.items() if x != "signatures"},
            "M_MISSING_PARAM",
            id="no-signatures",
        ),
        pytest.param(  # content changed after signing: the self-signature fails
            lambda d, k: _tamper(k, algorithms=["m.olm.v1.curve25519-aes-sha2"]),
            "M_INVALID_SIGNATURE",
            id="changed-after-signing",
        ),
        pytest.param(
            lambda d, k: _tamper(k, signatures={d.user_id: {}}),
            "M_INVALID_SIGNATURE",
            id="no-self-signature",
        ),
        pytest.param(
            lambda d, k: _tamper(k, signatures={d.user_id: {d.key_id: "AAAA"}}),
            "M_INVALID_SIGNATURE",
            id="garbage-signature",
        ),
        pytest.param(lambda d, k: _tamper(k, extra=1.5), "M_BAD_JSON", id="float"),
        pytest.param(lambda d, k: "a string", "M_INVALID_PARAM", id="not-an-object"),
    ],
)
async def test_bad_device_keys_are_400(
    homeserver: TestHomeserver, change: Any, errcode: str
) -> None:
    alice = await new_device(homeserver, "alice")
    response = await alice.upload(device_keys=change(alice, alice.device_keys()))
    assert response.status == 400, response.body
    assert response.json()["errcode"] == errcode
    query = await alice.client().post(QUERY, json_body={"device_keys": {alice.user_id: []}})
    assert query.json()["device_keys"][alice.user_id] == {}


async def test_device_keys_signed_by_another_device_key_are_refused(
    homeserver: TestHomeserver,
) -> None:
    alice = await new_device(homeserver, "alice")
    impostor = Device(homeserver, alice.user_id, alice.device_id, alice.access_token)
    keys = alice.device_keys()
    keys["signatures"] = impostor.device_keys()["signatures"]
    response = await alice.upload(device_keys=keys)
    assert response.json()["errcode"] == "M_INVALID_SIGNATURE"


async def test_one_time_key_reupload(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    keys = alice.one_time_keys(3)
    assert (await alice.upload(one_time_keys=keys)).status == 200
    # The same keys again (a retried request): fine, nothing doubles.
    again = await alice.upload(one_time_keys=keys)
    assert again.json()["one_time_key_counts"]["signed_curve25519"] == 3
    # The same key ID with other content: 400, and nothing of that upload is kept.
    other = {"signed_curve25519:AAAA0": alice.sign({"key": random_key()})}
    other.update(alice.one_time_keys(1, start=10))
    response = await alice.upload(one_time_keys=other)
    assert response.status == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"
    counts = await homeserver.services.db.run_read(
        e2e_sql.one_time_key_counts_txn, alice.user_id, alice.device_id
    )
    assert counts == {"signed_curve25519": 3}


@pytest.mark.parametrize(
    "keys",
    [
        {"signed_curve25519": {"key": "x", "signatures": {}}},  # no key ID
        {":AAAA": {"key": "x", "signatures": {}}},
        {"signed_curve25519:A": {"signatures": {}}},  # no key
        {"signed_curve25519:A": {"key": "x"}},  # no signatures
        {"signed_curve25519:A": {"key": "x", "signatures": {"@a:localhost": "sig"}}},
        {"signed_curve25519:A": 5},
        [],
    ],
)
async def test_malformed_one_time_keys_are_400(homeserver: TestHomeserver, keys: Any) -> None:
    alice = await new_device(homeserver, "alice")
    response = await alice.upload(one_time_keys=keys)
    assert response.status == 400
    assert response.json()["errcode"] in ("M_INVALID_PARAM", "M_MISSING_PARAM")


async def test_claims_hand_out_keys_oldest_first_then_the_fallback_key(
    homeserver: TestHomeserver,
) -> None:
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    first = alice.one_time_keys(1, start=0)
    second = alice.one_time_keys(1, start=1)
    fallback = alice.fallback_key()
    await alice.upload(one_time_keys=first)
    await alice.upload(one_time_keys=second, fallback_keys=fallback)
    wanted = {alice.user_id: {alice.device_id: "signed_curve25519"}}
    assert (await claim(bob, wanted))["one_time_keys"] == {alice.user_id: {alice.device_id: first}}
    assert (await claim(bob, wanted))["one_time_keys"][alice.user_id][alice.device_id] == second
    unused = await homeserver.services.db.run_read(
        e2e_sql.unused_fallback_key_types_txn, alice.user_id, alice.device_id
    )
    assert unused == ["signed_curve25519"]
    # Out of one-time keys: the fallback key, again and again, marked used.
    for _ in range(2):
        got = await claim(bob, wanted)
        assert got["one_time_keys"][alice.user_id][alice.device_id] == fallback
    unused = await homeserver.services.db.run_read(
        e2e_sql.unused_fallback_key_types_txn, alice.user_id, alice.device_id
    )
    assert unused == []


async def test_fallback_keys_replace_per_algorithm(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    wanted = {alice.user_id: {alice.device_id: "signed_curve25519"}}
    old = alice.fallback_key("FB1")
    await alice.upload(fallback_keys=old)
    await claim(bob, wanted)  # marks it used
    # Uploading the same key again (a retry) keeps it used...
    await alice.upload(fallback_keys=old)
    unused = e2e_sql.unused_fallback_key_types_txn
    assert await homeserver.services.db.run_read(unused, alice.user_id, alice.device_id) == []
    # ... a new one replaces it, unused.
    new = alice.fallback_key("FB2")
    await alice.upload(fallback_keys=new)
    assert await homeserver.services.db.run_read(unused, alice.user_id, alice.device_id) == [
        "signed_curve25519"
    ]
    assert (await claim(bob, wanted))["one_time_keys"][alice.user_id][alice.device_id] == new
    # Two fallback keys of one algorithm in one upload: 400.
    two = {**alice.fallback_key("FB3"), **alice.fallback_key("FB4")}
    response = await alice.upload(fallback_keys=two)
    assert response.status == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"


async def test_claims_of_unknown_users_and_devices_are_empty_not_errors(
    homeserver: TestHomeserver,
) -> None:
    alice = await new_device(homeserver, "alice")
    wanted = {
        "@nobody:localhost": {"DEV": "signed_curve25519"},
        alice.user_id: {"NOSUCHDEVICE": "signed_curve25519", alice.device_id: "curve25519"},
        "@carol:elsewhere.example": {"DEV": "signed_curve25519"},
    }
    body = await claim(alice, wanted)
    assert body["one_time_keys"] == {}
    assert set(body["failures"]) == {"elsewhere.example"}


@pytest.mark.parametrize(
    "body",
    [{}, {"one_time_keys": []}, {"one_time_keys": {"@a:localhost": {"D": 5}}}],
)
async def test_bad_claims_are_400(homeserver: TestHomeserver, body: dict[str, Any]) -> None:
    alice = await new_device(homeserver, "alice")
    response = await alice.client().post(CLAIM, json_body=body)
    assert response.status == 400


async def test_concurrent_claims_never_hand_out_a_key_twice(homeserver: TestHomeserver) -> None:
    """Real threads, a real socket: 60 claims race for 40 one-time keys."""
    assert not homeserver.deterministic
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    await alice.upload(device_keys=alice.device_keys(), one_time_keys=alice.one_time_keys(40))
    await alice.upload(fallback_keys=alice.fallback_key())
    wanted = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    handed_out: list[str] = []
    headers = {"Authorization": f"Bearer {bob.access_token}"}

    async with httpx.AsyncClient(
        base_url=homeserver.base_url, headers=headers, timeout=30
    ) as client:

        async def one_claim() -> None:
            response = await client.post(CLAIM, json=wanted)
            assert response.status_code == 200
            handed_out.extend(response.json()["one_time_keys"][alice.user_id][alice.device_id])

        async with trio.open_nursery() as nursery:
            for _ in range(60):
                nursery.start_soon(one_claim)

    one_time = [k for k in handed_out if k != "signed_curve25519:FB1"]
    assert len(one_time) == 40
    assert len(set(one_time)) == 40
    assert handed_out.count("signed_curve25519:FB1") == 20


async def test_keys_endpoints_need_a_token(homeserver: TestHomeserver) -> None:
    for path in (UPLOAD, QUERY, CLAIM):
        response = await homeserver.client().post(path, json_body={})
        assert response.status == 401
        assert response.json()["errcode"] == "M_MISSING_TOKEN"


async def test_keys_work_with_the_inline_database_under_the_mock_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_homeserver() as server:
        assert server.deterministic
        alice = await new_device(server, "alice")
        keys = alice.one_time_keys(2)
        response = await alice.upload(device_keys=alice.device_keys(), one_time_keys=keys)
        assert response.json() == {"one_time_key_counts": {"signed_curve25519": 2}}
        got = await claim(alice, {alice.user_id: {alice.device_id: "signed_curve25519"}})
        assert got["one_time_keys"][alice.user_id][alice.device_id].keys() <= keys.keys()
