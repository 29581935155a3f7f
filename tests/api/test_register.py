"""POST /register with user-interactive auth, /register/available, registration tokens."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.api.accounts_helpers import V1, V3, errcode, register, uia_session
from trioserver.accounts import registration_tokens
from trioserver.testing import TestHomeserver, open_test_homeserver


async def test_open_registration_is_one_dummy_stage(homeserver: TestHomeserver) -> None:
    client = homeserver.client()
    body = {"username": "alice", "password": "pw", "initial_device_display_name": "Phone"}
    first = await client.post(f"{V3}/register", json_body=body)
    assert first.status == 401
    challenge = first.json()
    assert challenge["flows"] == [{"stages": ["m.login.dummy"]}]
    assert challenge["params"] == {}
    assert "completed" not in challenge and "errcode" not in challenge
    done = await client.post(
        f"{V3}/register",
        json_body={**body, "auth": {"type": "m.login.dummy", "session": challenge["session"]}},
    )
    assert done.status == 200
    answer = done.json()
    assert answer["user_id"] == "@alice:localhost"
    assert answer["home_server"] == "localhost"
    assert "refresh_token" not in answer and "expires_in_ms" not in answer
    me = await homeserver.client(answer["access_token"]).get(f"{V3}/account/whoami")
    assert me.json() == {"user_id": "@alice:localhost", "device_id": answer["device_id"]}
    profile = await client.get(f"{V3}/profile/@alice:localhost")
    assert profile.json() == {"displayname": "alice"}
    devices = await homeserver.client(answer["access_token"]).get(f"{V3}/devices")
    assert devices.json()["devices"][0]["display_name"] == "Phone"


async def test_the_dummy_stage_may_come_without_a_session(homeserver: TestHomeserver) -> None:
    # As matrix-nio registers: one request, auth without a session.
    response = await homeserver.client().post(
        f"{V3}/register",
        json_body={"username": "Bob", "password": "pw", "auth": {"type": "m.login.dummy"}},
    )
    assert response.status == 200
    assert response.json()["user_id"] == "@bob:localhost"  # mapped to lower case


async def test_options_device_id_inhibit_login_refresh_and_generated_name(
    homeserver: TestHomeserver,
) -> None:
    named = await register(homeserver, "carol", device_id="MYDEVICE", refresh_token=True)
    assert named["device_id"] == "MYDEVICE"
    assert named["refresh_token"].startswith("tsr_")
    assert named["expires_in_ms"] == 300_000
    inhibited = await register(homeserver, "dave", inhibit_login=True)
    assert inhibited == {"user_id": "@dave:localhost", "home_server": "localhost"}
    generated = await register(homeserver, None)  # type: ignore[arg-type]
    assert generated["user_id"].startswith("@u") and generated["user_id"].endswith(":localhost")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"username": "Not Valid!", "password": "pw"}, 400, "M_INVALID_USERNAME"),
        ({"username": "12345", "password": "pw"}, 400, "M_INVALID_USERNAME"),
        ({"username": "@x:localhost", "password": "pw"}, 400, "M_INVALID_USERNAME"),
        ({"username": "taken", "password": "pw"}, 400, "M_USER_IN_USE"),
        ({"username": 7, "password": "pw"}, 400, "M_INVALID_PARAM"),
        ({"username": "x", "password": ""}, 400, "M_WEAK_PASSWORD"),
        ({"username": "x", "password": "pw", "inhibit_login": "yes"}, 400, "M_INVALID_PARAM"),
        ({"username": "x", "password": "pw", "device_id": ""}, 400, "M_INVALID_PARAM"),
        ({"username": "x", "password": "pw", "auth": "dummy"}, 400, "M_INVALID_PARAM"),
        ({"username": "x", "password": "pw", "auth": {"session": "nope"}}, 400, "M_UNKNOWN"),
    ],
)
async def test_bad_requests_are_refused_before_auth(
    homeserver: TestHomeserver, body: dict[str, object], status: int, code: str
) -> None:
    await homeserver.register_user("taken")
    response = await homeserver.client().post(f"{V3}/register", json_body=body)
    assert errcode(response) == (status, code)


async def test_password_is_required_once_auth_is_done(homeserver: TestHomeserver) -> None:
    client = homeserver.client()
    session = await uia_session(client, "POST", f"{V3}/register", {})  # flows discovery
    auth = {"type": "m.login.dummy", "session": session}
    missing = await client.post(f"{V3}/register", json_body={"username": "eve", "auth": auth})
    assert errcode(missing) == (400, "M_MISSING_PARAM")
    # The completed session can be retried with the missing parameter.
    retry = await client.post(
        f"{V3}/register", json_body={"username": "eve", "password": "pw", "auth": auth}
    )
    assert retry.status == 200


async def test_not_json_kind_and_closed_registration() -> None:
    async with open_test_homeserver(registration="closed") as hs:
        client = hs.client()
        closed = await client.post(f"{V3}/register", json_body={"username": "a", "password": "b"})
        assert errcode(closed) == (403, "M_FORBIDDEN")
        not_json = await client.post(f"{V3}/register", data=b"{nope")
        assert errcode(not_json) == (400, "M_NOT_JSON")
        bad_kind = await client.post(f"{V3}/register", json_body={}, query={"kind": "robot"})
        assert errcode(bad_kind) == (400, "M_INVALID_PARAM")
        no_guests = await client.post(f"{V3}/register", json_body={}, query={"kind": "guest"})
        assert errcode(no_guests) == (403, "M_FORBIDDEN")


async def test_a_session_belongs_to_one_operation(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    session = await uia_session(homeserver.client(), "POST", f"{V3}/register", {})
    reused = await homeserver.client(alice.access_token).post(
        f"{V3}/delete_devices",
        json_body={"devices": [], "auth": {"type": "m.login.password", "session": session}},
    )
    assert errcode(reused) == (403, "M_FORBIDDEN")


async def test_guests_register_and_upgrade() -> None:
    async with open_test_homeserver(guest_access=True) as hs:
        client = hs.client()
        guest = await client.post(
            f"{V3}/register",
            json_body={"username": "ignored", "initial_device_display_name": "Guest phone"},
            query={"kind": "guest"},
        )
        assert guest.status == 200
        token = guest.json()["access_token"]
        me = (await hs.client(token).get(f"{V3}/account/whoami")).json()
        assert me["is_guest"] is True and me["user_id"][1:].split(":")[0].isdigit()
        forbidden = await hs.client(token).get(f"{V3}/account/3pid")
        assert errcode(forbidden) == (403, "M_GUEST_ACCESS_FORBIDDEN")
        localpart = me["user_id"][1:].split(":")[0]
        body = {"username": localpart, "password": "pw", "guest_access_token": token}
        wrong_name = await client.post(f"{V3}/register", json_body={**body, "username": "other"})
        assert errcode(wrong_name) == (403, "M_FORBIDDEN")
        upgraded = await client.post(
            f"{V3}/register", json_body={**body, "auth": {"type": "m.login.dummy"}}
        )
        assert upgraded.status == 200, upgraded.json()
        assert upgraded.json()["user_id"] == me["user_id"]
        now = (await hs.client(upgraded.json()["access_token"]).get(f"{V3}/account/whoami")).json()
        assert "is_guest" not in now


async def test_username_availability(homeserver: TestHomeserver) -> None:
    await homeserver.register_user("taken")
    client = homeserver.client()
    url = f"{V3}/register/available"
    free = await client.get(url, query={"username": "Free"})
    assert (free.status, free.json()) == (200, {"available": True})
    assert errcode(await client.get(url, query={"username": "taken"})) == (400, "M_USER_IN_USE")
    assert errcode(await client.get(url, query={"username": "no way"})) == (
        400,
        "M_INVALID_USERNAME",
    )
    assert errcode(await client.get(url)) == (400, "M_MISSING_PARAM")


async def test_email_and_phone_registration_are_refused(homeserver: TestHomeserver) -> None:
    for medium in ("email", "msisdn"):
        response = await homeserver.client().post(
            f"{V3}/register/{medium}/requestToken", json_body={"client_secret": "x"}
        )
        assert errcode(response) == (403, "M_THREEPID_DENIED")


# -- token-authenticated registration -----------------------------------------

VALIDITY = f"{V1}/register/m.login.registration_token/validity"


async def test_registration_tokens_allow_their_uses(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_homeserver(registration="token") as hs:
        svc = hs.services
        token = await registration_tokens.create_token(svc.db, svc.clock, uses_allowed=1)
        client = hs.client()
        valid = await client.get(VALIDITY, query={"token": token.token})
        assert valid.json() == {"valid": True}

        body = {"username": "alice", "password": "pw"}
        first = await client.post(f"{V3}/register", json_body=body)
        assert first.json()["flows"] == [{"stages": ["m.login.registration_token"]}]
        session = first.json()["session"]
        wrong = await client.post(
            f"{V3}/register",
            json_body={
                **body,
                "auth": {"type": "m.login.registration_token", "token": "nope", "session": session},
            },
        )
        assert wrong.status == 401
        assert wrong.json()["errcode"] == "M_UNAUTHORIZED"
        assert wrong.json()["session"] == session and wrong.json()["flows"]
        dummy = await client.post(
            f"{V3}/register", json_body={**body, "auth": {"type": "m.login.dummy"}}
        )
        assert (dummy.status, dummy.json()["errcode"]) == (401, "M_UNKNOWN")

        # Passing the token stage reserves the only use ...
        auth = {"type": "m.login.registration_token", "token": token.token, "session": session}
        reserved = await client.post(f"{V3}/register", json_body={"auth": auth})
        assert errcode(reserved) == (400, "M_MISSING_PARAM")  # no password yet
        assert (await client.get(VALIDITY, query={"token": token.token})).json() == {"valid": False}
        # ... which an abandoned session gives back when it expires.
        await trio.sleep(31 * 60)
        assert (await client.get(VALIDITY, query={"token": token.token})).json() == {"valid": True}

        done = await client.post(
            f"{V3}/register",
            json_body={**body, "auth": {**auth, "session": None}},
        )
        assert done.status == 200
        [stored] = await registration_tokens.list_tokens(svc.db)
        assert (stored.pending, stored.completed) == (0, 1)
        used_up = await client.post(
            f"{V3}/register",
            json_body={"username": "bob", "password": "pw", "auth": {**auth, "session": None}},
        )
        assert (used_up.status, used_up.json()["errcode"]) == (401, "M_UNAUTHORIZED")


async def test_token_validity_endpoint(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_homeserver(registration="token") as hs:
        svc = hs.services
        token = await registration_tokens.create_token(svc.db, svc.clock, expires_in_days=1)
        client = hs.client()
        assert (await client.get(VALIDITY, query={"token": token.token})).json()["valid"] is True
        assert (await client.get(VALIDITY, query={"token": "unknown"})).json()["valid"] is False
        assert (await client.get(VALIDITY, query={"token": "bad token!"})).json()["valid"] is False
        assert errcode(await client.get(VALIDITY)) == (400, "M_MISSING_PARAM")
        await trio.sleep(24 * 3600)
        assert (await client.get(VALIDITY, query={"token": token.token})).json()["valid"] is False
    async with open_test_homeserver(registration="open") as hs:
        refused = await hs.client().get(VALIDITY, query={"token": "x"})
        assert errcode(refused) == (403, "M_FORBIDDEN")


@pytest.mark.parametrize("stage_done_first", [False, True])
async def test_one_token_use_registers_one_account_even_concurrently(
    autojump_clock: trio.testing.MockClock, stage_done_first: bool
) -> None:
    async with open_test_homeserver(registration="token") as hs:
        svc = hs.services
        token = await registration_tokens.create_token(svc.db, svc.clock, uses_allowed=1)
        client = hs.client()
        session = await uia_session(client, "POST", f"{V3}/register", {})
        auth = {"type": "m.login.registration_token", "token": token.token, "session": session}
        if stage_done_first:  # the session is complete; only the password was missing
            response = await client.post(f"{V3}/register", json_body={"auth": auth})
            assert errcode(response) == (400, "M_MISSING_PARAM")
        statuses: list[int] = []

        async def attempt(name: str) -> None:
            response = await client.post(
                f"{V3}/register", json_body={"username": name, "password": "pw", "auth": auth}
            )
            statuses.append(response.status)

        async with trio.open_nursery() as nursery:
            for name in ("one", "two", "three"):
                nursery.start_soon(attempt, name)
        assert statuses.count(200) == 1 and all(400 <= s < 500 for s in statuses if s != 200)
        [stored] = await registration_tokens.list_tokens(svc.db)
        assert (stored.pending, stored.completed) == (0, 1)
