"""The endpoints the foundation makes real, and Matrix errors on every path."""

from __future__ import annotations

import logging

import canonicaljson
import httpx
import nacl.signing
import pytest

from trioserver.api.discovery import SUPPORTED_CLIENT_VERSIONS
from trioserver.api.http import require_user
from trioserver.protocol.base64 import decode_base64
from trioserver.testing import TestHomeserver


async def test_versions_answer_on_a_real_socket(homeserver: TestHomeserver) -> None:
    async with httpx.AsyncClient(base_url=homeserver.base_url) as client:
        response = await client.get("/_matrix/client/versions")
    assert response.status_code == 200
    assert response.json()["versions"] == SUPPORTED_CLIENT_VERSIONS
    assert response.headers["content-type"] == "application/json"


async def test_server_keys_verify_with_the_spec_algorithm(homeserver: TestHomeserver) -> None:
    response = await homeserver.client().get("/_matrix/key/v2/server")
    assert response.status == 200
    body = response.json()
    assert body["server_name"] == homeserver.server_name
    ((key_id, key),) = body["verify_keys"].items()
    assert key_id.startswith("ed25519:")
    verify_key = nacl.signing.VerifyKey(decode_base64(key["key"]))
    signature = decode_base64(body["signatures"][homeserver.server_name][key_id])
    unsigned = {k: v for k, v in body.items() if k not in ("signatures", "unsigned")}
    verify_key.verify(canonicaljson.encode_canonical_json(unsigned), signature)
    assert body["valid_until_ts"] > homeserver.services.clock.time_ms()
    assert body["old_verify_keys"] == {}


async def test_well_known_documents(homeserver: TestHomeserver) -> None:
    client = homeserver.client()
    wk_client = (await client.get("/.well-known/matrix/client")).json()
    assert wk_client == {"m.homeserver": {"base_url": "http://localhost"}}
    wk_server = (await client.get("/.well-known/matrix/server")).json()
    assert wk_server == {"m.server": "localhost:443"}
    version = (await client.get("/_matrix/federation/v1/version")).json()
    assert version["server"]["name"] == "trioserver"


async def test_unknown_endpoint_is_m_unrecognized(homeserver: TestHomeserver) -> None:
    response = await homeserver.client().get("/_matrix/client/v3/no/such/thing")
    assert response.status == 404
    assert response.json()["errcode"] == "M_UNRECOGNIZED"


async def test_wrong_method_is_405_m_unrecognized(homeserver: TestHomeserver) -> None:
    response = await homeserver.client().request("DELETE", "/_matrix/client/versions")
    assert response.status == 405
    assert response.json()["errcode"] == "M_UNRECOGNIZED"


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"a": 1, "a": 2}', b"\xff\xfe", b'{"x": NaN}']
)
async def test_a_body_that_is_not_a_json_object_is_m_not_json(
    homeserver: TestHomeserver, body: bytes
) -> None:
    response = await homeserver.client().post(
        "/_matrix/client/v3/login", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert response.json()["errcode"] == "M_NOT_JSON"


async def test_a_body_over_the_limit_is_m_too_large() -> None:
    from trioserver.testing import open_test_homeserver

    async with (
        open_test_homeserver(max_request_bytes=1000) as hs,
        httpx.AsyncClient(base_url=hs.base_url) as client,
    ):
        response = await client.post(
            "/_matrix/client/v3/login", content=b'{"pad": "' + b"x" * 5000 + b'"}'
        )
    assert response.status_code == 413
    assert response.json()["errcode"] == "M_TOO_LARGE"


async def test_an_unhandled_exception_is_500_m_unknown_logged_once_never_sent(
    homeserver: TestHomeserver, caplog: pytest.LogCaptureFixture
) -> None:
    app = homeserver.running.app

    @app.get("/_matrix/client/v3/rooms/<roomId>/test_crash")
    async def crash(roomId: str) -> None:
        await require_user()
        raise RuntimeError("secret internal detail")

    alice = await homeserver.register_user("alice")
    with caplog.at_level(logging.ERROR):
        response = await homeserver.client(alice.access_token).get(
            "/_matrix/client/v3/rooms/!abc:localhost/test_crash"
        )
    assert response.status == 500
    assert response.json() == {"errcode": "M_UNKNOWN", "error": "Internal server error"}
    assert b"secret" not in response.body
    tracebacks = [
        r for r in caplog.records if r.exc_info and "secret internal detail" in str(r.exc_info[1])
    ]
    assert len(tracebacks) == 1
    assert "user=@alice:localhost room=!abc:localhost" in tracebacks[0].getMessage()


async def test_cors_headers_on_every_response_and_preflight(homeserver: TestHomeserver) -> None:
    client = homeserver.client()
    for response in [
        await client.get("/_matrix/client/versions"),
        await client.get("/_matrix/client/v3/nothing-here"),
        await client.request("OPTIONS", "/_matrix/client/v3/rooms/!r:x/send/m.room.message/1"),
    ]:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "OPTIONS" in response.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    preflight = await client.request(
        "OPTIONS",
        "/_matrix/client/v3/login",
        headers={"Origin": "https://app.element.io", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 200


async def test_whoami_needs_a_valid_token(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    ok = await homeserver.client(alice.access_token).get("/_matrix/client/v3/account/whoami")
    assert ok.json() == {"user_id": "@alice:localhost", "device_id": alice.device_id}
    missing = await homeserver.client().get("/_matrix/client/v3/account/whoami")
    assert (missing.status, missing.json()["errcode"]) == (401, "M_MISSING_TOKEN")
    wrong = await homeserver.client("nope").get("/_matrix/client/v3/account/whoami")
    assert (wrong.status, wrong.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    by_query = await homeserver.client().get(
        "/_matrix/client/v3/account/whoami", query={"access_token": alice.access_token}
    )
    assert by_query.json()["user_id"] == "@alice:localhost"


async def test_password_login(homeserver: TestHomeserver) -> None:
    await homeserver.register_user("bob", "hunter2")
    client = homeserver.client()
    flows = (await client.get("/_matrix/client/v3/login")).json()
    assert {"type": "m.login.password"} in flows["flows"]
    response = await client.post(
        "/_matrix/client/v3/login",
        json_body={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "bob"},
            "password": "hunter2",
            "initial_device_display_name": "phone",
        },
    )
    assert response.status == 200
    body = response.json()
    assert body["user_id"] == "@bob:localhost"
    me = await homeserver.client(body["access_token"]).get("/_matrix/client/v3/account/whoami")
    assert me.json()["device_id"] == body["device_id"]
    legacy = await client.post(
        "/_matrix/client/r0/login",
        json_body={"type": "m.login.password", "user": "@bob:localhost", "password": "hunter2"},
    )
    assert legacy.status == 200


@pytest.mark.parametrize(
    ("body", "status", "errcode"),
    [
        ({"type": "m.login.password", "user": "bob", "password": "wrong"}, 403, "M_FORBIDDEN"),
        ({"type": "m.login.password", "user": "nobody", "password": "x"}, 403, "M_FORBIDDEN"),
        ({"type": "m.login.password", "password": "x"}, 400, "M_MISSING_PARAM"),
        ({"type": "m.login.password", "user": "bob"}, 400, "M_MISSING_PARAM"),
        ({"type": "m.login.magic", "user": "bob", "password": "x"}, 400, "M_UNKNOWN"),
    ],
)
async def test_login_errors(
    homeserver: TestHomeserver, body: dict[str, object], status: int, errcode: str
) -> None:
    await homeserver.register_user("bob", "hunter2")
    response = await homeserver.client().post("/_matrix/client/v3/login", json_body=body)
    assert (response.status, response.json()["errcode"]) == (status, errcode)
