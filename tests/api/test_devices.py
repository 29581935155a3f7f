"""GET /devices, GET/PUT/DELETE /devices/{deviceId}, POST /delete_devices, last seen."""

from __future__ import annotations

import trio
import trio.testing

from tests.api.accounts_helpers import V3, errcode, password_auth, uia_session
from trioserver.db import devices as devices_sql
from trioserver.testing import TestHomeserver, open_test_homeserver


async def test_list_get_and_rename(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    accounts = homeserver.services.accounts
    other = await accounts.open_session("@alice:localhost", "TABLET", "Tablet")
    bob = await homeserver.register_user("bob")
    client = homeserver.client(alice.access_token)

    listed = (await client.get(f"{V3}/devices")).json()["devices"]
    by_id = {d["device_id"]: d for d in listed}
    assert set(by_id) == {alice.device_id, "TABLET"}
    assert by_id["TABLET"] == {"device_id": "TABLET", "display_name": "Tablet"}  # never seen
    mine = by_id[alice.device_id]
    assert set(mine) == {"device_id", "last_seen_ip", "last_seen_ts"}  # no name set

    one = await client.get(f"{V3}/devices/TABLET")
    assert one.json() == {"device_id": "TABLET", "display_name": "Tablet"}
    renamed = await client.put(f"{V3}/devices/TABLET", json_body={"display_name": "Old tablet"})
    assert (renamed.status, renamed.json()) == (200, {})
    assert (await client.get(f"{V3}/devices/TABLET")).json()["display_name"] == "Old tablet"
    unchanged = await client.put(f"{V3}/devices/TABLET", json_body={})
    assert unchanged.status == 200

    assert errcode(await client.get(f"{V3}/devices/NOPE")) == (404, "M_NOT_FOUND")
    assert errcode(await client.get(f"{V3}/devices/{bob.device_id}")) == (404, "M_NOT_FOUND")
    create = await client.put(f"{V3}/devices/NEWONE", json_body={"display_name": "x"})
    assert errcode(create) == (404, "M_NOT_FOUND")
    bad = await client.put(f"{V3}/devices/TABLET", json_body={"display_name": 3})
    assert errcode(bad) == (400, "M_INVALID_PARAM")
    too_long = await client.put(f"{V3}/devices/TABLET", json_body={"display_name": "x" * 101})
    assert errcode(too_long) == (400, "M_INVALID_PARAM")
    not_json = await client.put(f"{V3}/devices/TABLET", data=b"[]")
    assert errcode(not_json) == (400, "M_NOT_JSON")
    assert errcode(await homeserver.client().get(f"{V3}/devices")) == (401, "M_MISSING_TOKEN")
    assert other.device_id == "TABLET"


async def test_delete_a_device_with_password_auth(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice", "pw")
    other = await homeserver.services.accounts.open_session("@alice:localhost", "TABLET")
    client = homeserver.client(alice.access_token)
    url = f"{V3}/devices/TABLET"
    challenge = await client.delete(url)  # no body at all
    assert challenge.status == 401
    assert challenge.json()["flows"] == [{"stages": ["m.login.password"]}]
    session = challenge.json()["session"]
    done = await client.delete(url, json_body={"auth": password_auth("alice", "pw", session)})
    assert (done.status, done.json()) == (200, {})
    gone = await homeserver.client(other.access_token).get(f"{V3}/account/whoami")
    assert errcode(gone) == (401, "M_UNKNOWN_TOKEN")
    assert errcode(await client.get(url)) == (404, "M_NOT_FOUND")
    # Deleting again (or a device that never was) succeeds after auth.
    again = await client.delete(url, json_body={"auth": password_auth("alice", "pw")})
    assert again.status == 200


async def test_delete_devices_in_bulk(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice", "pw")
    await homeserver.register_user("bob", "pw")
    accounts = homeserver.services.accounts
    for device in ("A", "B", "C"):
        await accounts.open_session("@alice:localhost", device)
    client = homeserver.client(alice.access_token)
    url = f"{V3}/delete_devices"
    assert errcode(await client.post(url, json_body={})) == (400, "M_MISSING_PARAM")
    assert errcode(await client.post(url, json_body={"devices": "A"})) == (400, "M_INVALID_PARAM")
    assert errcode(await client.post(url, json_body={"devices": [1]})) == (400, "M_INVALID_PARAM")
    body = {"devices": ["A", "B", "UNKNOWN"]}
    session = await uia_session(client, "POST", url, body)
    wrong_user = await client.post(
        url,
        json_body={**body, "auth": {"type": "m.login.password", "user": "bob", "password": "pw"}},
    )
    assert errcode(wrong_user) == (403, "M_FORBIDDEN")  # bob's password is not alice's
    done = await client.post(url, json_body={**body, "auth": password_auth("alice", "pw", session)})
    assert done.status == 200
    left = (await client.get(f"{V3}/devices")).json()["devices"]
    assert {d["device_id"] for d in left} == {alice.device_id, "C"}


async def test_last_seen_is_written_in_batches(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_homeserver() as hs:
        alice = await hs.register_user("alice")
        db = hs.services.db
        client = hs.client(alice.access_token)
        before = db.statistics().jobs
        for _ in range(20):
            assert (await client.get(f"{V3}/account/whoami")).status == 200
        assert db.statistics().jobs == before  # no write per request
        seen_at = hs.services.clock.time_ms()
        listed = (await client.get(f"{V3}/devices")).json()["devices"][0]
        assert listed["last_seen_ts"] >= seen_at - 1 and listed["last_seen_ip"]
        stored = await db.run_read(devices_sql.get_device_txn, alice.user_id, alice.device_id)
        assert stored is not None and stored.last_seen_ts is None  # not written yet
        await trio.sleep(301)
        stored = await db.run_read(devices_sql.get_device_txn, alice.user_id, alice.device_id)
        assert stored is not None and stored.last_seen_ts is not None
        assert stored.last_seen_user_agent
        assert db.statistics().jobs == before + 1
