"""POST /account/password, POST /account/deactivate, and the 3PID endpoints."""

from __future__ import annotations

import pytest

from tests.api.accounts_helpers import V3, errcode, password_auth, uia_session
from trioserver.testing import TestHomeserver

PASSWORD_URL = f"{V3}/account/password"
DEACTIVATE_URL = f"{V3}/account/deactivate"


async def can_log_in(hs: TestHomeserver, user: str, password: str) -> tuple[int, str | None]:
    response = await hs.client().post(
        f"{V3}/login", json_body={"type": "m.login.password", "user": user, "password": password}
    )
    return response.status, response.json().get("errcode")


async def test_password_change_logs_out_other_devices(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice", "old")
    other = await homeserver.services.accounts.open_session("@alice:localhost")
    client = homeserver.client(alice.access_token)
    body = {"new_password": "new"}
    session = await uia_session(client, "POST", PASSWORD_URL, body)
    wrong = await client.post(
        PASSWORD_URL, json_body={**body, "auth": password_auth("alice", "nope", session)}
    )
    assert (wrong.status, wrong.json()["errcode"], wrong.json()["session"]) == (
        401,
        "M_FORBIDDEN",
        session,
    )
    done = await client.post(
        PASSWORD_URL, json_body={**body, "auth": password_auth("alice", "old", session)}
    )
    assert (done.status, done.json()) == (200, {})
    assert await can_log_in(homeserver, "alice", "old") == (403, "M_FORBIDDEN")
    assert (await can_log_in(homeserver, "alice", "new"))[0] == 200
    assert (await client.get(f"{V3}/account/whoami")).status == 200  # the requester stays
    gone = await homeserver.client(other.access_token).get(f"{V3}/account/whoami")
    assert errcode(gone) == (401, "M_UNKNOWN_TOKEN")


async def test_password_change_may_keep_devices_and_needs_no_token(
    homeserver: TestHomeserver,
) -> None:
    alice = await homeserver.register_user("alice", "old")
    response = await homeserver.client().post(
        PASSWORD_URL,
        json_body={
            "new_password": "new",
            "logout_devices": False,
            "auth": password_auth("@alice:localhost", "old"),
        },
    )
    assert response.status == 200
    still = await homeserver.client(alice.access_token).get(f"{V3}/account/whoami")
    assert still.status == 200
    assert (await can_log_in(homeserver, "alice", "new"))[0] == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "M_MISSING_PARAM"),
        ({"new_password": 5}, 400, "M_INVALID_PARAM"),
        ({"new_password": ""}, 400, "M_WEAK_PASSWORD"),
        ({"new_password": "x", "logout_devices": "no"}, 400, "M_INVALID_PARAM"),
        (
            {"new_password": "x", "auth": {"type": "m.login.password", "password": "pw"}},
            400,
            "M_MISSING_PARAM",
        ),
        ({"new_password": "x", "auth": password_auth("bob", "pw")}, 403, "M_FORBIDDEN"),
    ],
)
async def test_password_change_errors(
    homeserver: TestHomeserver, body: dict[str, object], status: int, code: str
) -> None:
    alice = await homeserver.register_user("alice", "pw")
    await homeserver.register_user("bob", "pw")
    response = await homeserver.client(alice.access_token).post(PASSWORD_URL, json_body=body)
    assert errcode(response) == (status, code)


async def test_deactivation_ends_the_account(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice", "pw")
    client = homeserver.client(alice.access_token)
    await client.put(f"{V3}/user/@alice:localhost/account_data/org.example", json_body={"a": 1})
    deactivated: list[str] = []

    async def on_deactivated(user_id: str) -> None:
        deactivated.append(user_id)

    homeserver.services.hooks.user_deactivated = on_deactivated
    session = await uia_session(client, "POST", DEACTIVATE_URL, {})
    response = await client.post(
        DEACTIVATE_URL, json_body={"auth": password_auth("alice", "pw", session), "erase": True}
    )
    assert (response.status, response.json()) == (200, {"id_server_unbind_result": "success"})
    assert deactivated == ["@alice:localhost"]
    assert errcode(await client.get(f"{V3}/account/whoami")) == (401, "M_UNKNOWN_TOKEN")
    assert await can_log_in(homeserver, "alice", "pw") == (403, "M_USER_DEACTIVATED")
    profile = await homeserver.client().get(f"{V3}/profile/@alice:localhost")
    assert (profile.status, profile.json()) == (200, {})
    again = await homeserver.client().post(
        DEACTIVATE_URL, json_body={"auth": password_auth("alice", "pw")}
    )
    assert errcode(again) == (403, "M_USER_DEACTIVATED")
    # The name stays taken.
    available = await homeserver.client().get(
        f"{V3}/register/available", query={"username": "alice"}
    )
    assert errcode(available) == (400, "M_USER_IN_USE")


async def test_a_failing_hook_does_not_fail_the_request(homeserver: TestHomeserver) -> None:
    await homeserver.register_user("alice", "pw")

    async def broken(user_id: str) -> None:
        raise RuntimeError("roomserver down")

    homeserver.services.hooks.user_deactivated = broken
    response = await homeserver.client().post(
        DEACTIVATE_URL, json_body={"auth": password_auth("alice", "pw")}
    )
    assert response.status == 200


async def test_third_party_identifiers(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    listed = await client.get(f"{V3}/account/3pid")
    assert (listed.status, listed.json()) == (200, {"threepids": []})
    assert errcode(await homeserver.client().get(f"{V3}/account/3pid")) == (401, "M_MISSING_TOKEN")
    add = await client.post(f"{V3}/account/3pid/add", json_body={"client_secret": "s", "sid": "1"})
    assert errcode(add) == (400, "M_THREEPID_AUTH_FAILED")
    add_missing = await client.post(f"{V3}/account/3pid/add", json_body={"sid": "1"})
    assert errcode(add_missing) == (400, "M_MISSING_PARAM")
    delete = await client.post(
        f"{V3}/account/3pid/delete", json_body={"medium": "email", "address": "a@b.c"}
    )
    assert errcode(delete) == (400, "M_THREEPID_NOT_FOUND")
    for medium in ("email", "msisdn"):
        token = await client.post(f"{V3}/account/3pid/{medium}/requestToken", json_body={})
        assert errcode(token) == (400, "M_THREEPID_MEDIUM_NOT_SUPPORTED")
        reset = await client.post(f"{V3}/account/password/{medium}/requestToken", json_body={})
        assert errcode(reset) == (400, "M_THREEPID_NOT_FOUND")
    for path in ("account/3pid", "account/3pid/bind", "account/3pid/unbind"):
        absent = await client.post(f"{V3}/{path}", json_body={})
        assert errcode(absent)[1] == "M_UNRECOGNIZED"
