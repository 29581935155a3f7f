"""Login (password and m.login.token), POST /login/get_token, refresh tokens
and expiry (soft logout), logout and logout/all."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from tests.api.accounts_helpers import V1, V3, errcode, password_auth
from trioserver.testing import TestHomeserver, open_test_homeserver

WHOAMI = f"{V3}/account/whoami"


async def login(
    hs: TestHomeserver, user: str, password: str = "password", **extra: object
) -> dict[str, Any]:
    response = await hs.client().post(
        f"{V3}/login",
        json_body={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            **extra,
        },
    )
    assert response.status == 200, response.json()
    return dict(response.json())


async def test_login_flows_offer_token_login(homeserver: TestHomeserver) -> None:
    flows = (await homeserver.client().get(f"{V3}/login")).json()["flows"]
    assert flows == [
        {"type": "m.login.password"},
        {"type": "m.login.token", "get_login_token": True},
    ]


async def test_login_by_full_user_id_in_any_case(homeserver: TestHomeserver) -> None:
    await homeserver.register_user("alice")
    answer = await login(homeserver, "@Alice:localhost")
    assert answer["user_id"] == "@alice:localhost"
    assert "refresh_token" not in answer and "expires_in_ms" not in answer
    other_server = await homeserver.client().post(
        f"{V3}/login",
        json_body={"type": "m.login.password", "user": "@alice:elsewhere", "password": "password"},
    )
    assert errcode(other_server) == (403, "M_FORBIDDEN")


async def test_third_party_identifiers_are_unknown(homeserver: TestHomeserver) -> None:
    for identifier in (
        {"type": "m.id.thirdparty", "medium": "email", "address": "a@example.org"},
        {"type": "m.id.phone", "country": "GB", "phone": "123"},
    ):
        response = await homeserver.client().post(
            f"{V3}/login",
            json_body={"type": "m.login.password", "identifier": identifier, "password": "x"},
        )
        assert errcode(response) == (403, "M_FORBIDDEN")


async def test_logging_in_again_on_a_device_replaces_its_tokens(homeserver: TestHomeserver) -> None:
    await homeserver.register_user("alice")
    first = await login(homeserver, "alice", device_id="LAPTOP")
    second = await login(homeserver, "alice", device_id="LAPTOP")
    assert second["device_id"] == "LAPTOP"
    old = await homeserver.client(first["access_token"]).get(WHOAMI)
    assert errcode(old) == (401, "M_UNKNOWN_TOKEN")
    devices = (await homeserver.client(second["access_token"]).get(f"{V3}/devices")).json()
    assert [d["device_id"] for d in devices["devices"]].count("LAPTOP") == 1


async def test_get_token_then_token_login(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_homeserver() as hs:
        alice = await hs.register_user("alice", "secret")
        client = hs.client(alice.access_token)
        url = f"{V1}/login/get_token"
        assert errcode(await hs.client().post(url, json_body={})) == (401, "M_MISSING_TOKEN")
        challenge = await client.post(url, json_body={})
        assert challenge.status == 401
        assert challenge.json()["flows"] == [{"stages": ["m.login.password"]}]
        session = challenge.json()["session"]
        wrong = await client.post(url, json_body={"auth": password_auth("alice", "no", session)})
        assert (wrong.status, wrong.json()["errcode"]) == (401, "M_FORBIDDEN")
        assert wrong.json()["session"] == session
        issued = await client.post(
            url, json_body={"auth": password_auth("alice", "secret", session)}
        )
        assert issued.status == 200
        assert issued.json()["expires_in_ms"] == 120_000
        token = issued.json()["login_token"]
        # The spec: always re-prompt, so the finished session is spent.
        again = await client.post(
            url, json_body={"auth": password_auth("alice", "secret", session)}
        )
        assert errcode(again) == (400, "M_UNKNOWN")

        body = {"type": "m.login.token", "token": token}
        logged_in = await hs.client().post(f"{V3}/login", json_body=body)
        assert logged_in.status == 200
        assert logged_in.json()["user_id"] == "@alice:localhost"
        reused = await hs.client().post(f"{V3}/login", json_body=body)
        assert errcode(reused) == (403, "M_FORBIDDEN")

        late = await client.post(url, json_body={"auth": password_auth("alice", "secret")})
        await trio.sleep(121)
        expired = await hs.client().post(
            f"{V3}/login", json_body={"type": "m.login.token", "token": late.json()["login_token"]}
        )
        assert errcode(expired) == (403, "M_FORBIDDEN")
        missing = await hs.client().post(f"{V3}/login", json_body={"type": "m.login.token"})
        assert errcode(missing) == (400, "M_MISSING_PARAM")


async def test_expired_access_tokens_are_soft_logged_out_and_refresh(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_homeserver(access_token_lifetime=60) as hs:
        await hs.register_user("alice")
        answer = await login(hs, "alice", refresh_token=True)
        assert answer["expires_in_ms"] == 60_000
        access, refresh = answer["access_token"], answer["refresh_token"]
        assert (await hs.client(access).get(WHOAMI)).status == 200
        await trio.sleep(61)
        expired = await hs.client(access).get(WHOAMI)
        assert expired.status == 401
        assert expired.json()["errcode"] == "M_UNKNOWN_TOKEN"
        assert expired.json()["soft_logout"] is True

        url = f"{V3}/refresh"
        first = (await hs.client().post(url, json_body={"refresh_token": refresh})).json()
        assert first["expires_in_ms"] == 60_000 and first["refresh_token"] != refresh
        # The old access token is gone for good (not soft).
        gone = await hs.client(access).get(WHOAMI)
        assert gone.json()["soft_logout"] is False
        # Lost the answer? The old refresh token still works, replacing the lost pair.
        second = (await hs.client().post(url, json_body={"refresh_token": refresh})).json()
        assert errcode(await hs.client(first["access_token"]).get(WHOAMI)) == (
            401,
            "M_UNKNOWN_TOKEN",
        )
        # Using the new access token revokes the old refresh token.
        me = await hs.client(second["access_token"]).get(WHOAMI)
        assert me.json()["device_id"] == answer["device_id"]
        revoked = await hs.client().post(url, json_body={"refresh_token": refresh})
        assert revoked.status == 401
        assert revoked.json() == {
            "errcode": "M_UNKNOWN_TOKEN",
            "error": "Unknown refresh token",
            "soft_logout": False,
        }
        # Refreshing with the newest refresh token works, and rotates again.
        third = await hs.client().post(url, json_body={"refresh_token": second["refresh_token"]})
        assert third.status == 200
        stale = await hs.client().post(url, json_body={"refresh_token": second["refresh_token"]})
        assert stale.status == 200  # still valid until the third pair is used
        missing = await hs.client().post(url, json_body={})
        assert errcode(missing) == (400, "M_MISSING_PARAM")


async def test_logout_deletes_the_device_and_logout_all_every_device(
    homeserver: TestHomeserver,
) -> None:
    alice = await homeserver.register_user("alice")
    phone = await login(homeserver, "alice")
    laptop = await login(homeserver, "alice")
    out = await homeserver.client(phone["access_token"]).post(f"{V3}/logout")
    assert (out.status, out.json()) == (200, {})
    assert errcode(await homeserver.client(phone["access_token"]).get(WHOAMI)) == (
        401,
        "M_UNKNOWN_TOKEN",
    )
    listed = (await homeserver.client(laptop["access_token"]).get(f"{V3}/devices")).json()
    assert phone["device_id"] not in [d["device_id"] for d in listed["devices"]]

    everything = await homeserver.client(laptop["access_token"]).post(f"{V3}/logout/all")
    assert everything.status == 200
    for token in (alice.access_token, laptop["access_token"]):
        assert (await homeserver.client(token).get(WHOAMI)).status == 401
    assert errcode(await homeserver.client().post(f"{V3}/logout")) == (401, "M_MISSING_TOKEN")
