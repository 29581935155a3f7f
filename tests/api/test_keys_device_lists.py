"""The device-list stream (what /sync's device_lists and /keys/changes will
read), and deleting a device with its keys."""

from __future__ import annotations

from tests.api.e2ee_helpers import (
    CrossSigning,
    Device,
    key_of,
    new_device,
    sign_with,
)
from trioserver.db import e2e_keys as e2e_sql
from trioserver.testing import TestHomeserver

QUERY = "/_matrix/client/v3/keys/query"


async def position(homeserver: TestHomeserver) -> int:
    return await homeserver.services.db.run_read(e2e_sql.device_list_position_txn)


async def changes(homeserver: TestHomeserver, since: int, viewer: str) -> list[str]:
    to = await position(homeserver)
    return await homeserver.services.db.run_read(e2e_sql.device_list_changes_txn, since, to, viewer)


async def test_new_device_keys_are_a_change_and_the_same_keys_again_are_not(
    homeserver: TestHomeserver,
) -> None:
    alice = await new_device(homeserver, "alice")
    start = await position(homeserver)
    keys = alice.device_keys()
    await alice.upload(device_keys=keys)
    after_upload = await position(homeserver)
    assert after_upload > start
    assert await changes(homeserver, start, "@bob:localhost") == [alice.user_id]
    await alice.upload(device_keys=keys, one_time_keys=alice.one_time_keys(3))
    assert await position(homeserver) == after_upload  # nothing new about the device list
    # New identity keys for the same device: a change.
    await Device(homeserver, alice.user_id, alice.device_id, alice.access_token).upload(
        device_keys=Device(
            homeserver, alice.user_id, alice.device_id, alice.access_token
        ).device_keys()
    )
    assert await changes(homeserver, after_upload, "@bob:localhost") == [alice.user_id]


async def test_cross_signing_changes_and_who_hears_of_them(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    await alice.upload(device_keys=alice.device_keys())
    alice_keys = CrossSigning(alice.user_id)
    bob_keys = CrossSigning(bob.user_id)
    start = await position(homeserver)
    response = await alice.client().post(
        "/_matrix/client/v3/keys/device_signing/upload", json_body=alice_keys.upload_body()
    )
    assert response.status == 200
    await bob.client().post(
        "/_matrix/client/v3/keys/device_signing/upload", json_body=bob_keys.upload_body()
    )
    assert await changes(homeserver, start, "@carol:localhost") == [alice.user_id, bob.user_id]
    # Alice signs Bob's master key: only Alice is to hear that Bob's keys changed.
    mark = await position(homeserver)
    signed = sign_with(bob_keys.master_key(), alice.user_id, alice_keys.user_signing)
    response = await alice.client().post(
        "/_matrix/client/v3/keys/signatures/upload",
        json_body={bob.user_id: {key_of(bob_keys.master): signed}},
    )
    assert response.json() == {"failures": {}}
    assert await changes(homeserver, mark, alice.user_id) == [bob.user_id]
    assert await changes(homeserver, mark, bob.user_id) == []
    assert await changes(homeserver, mark, "@carol:localhost") == []
    # Alice signs her own device with her self-signing key: everyone hears.
    mark = await position(homeserver)
    signed = sign_with(alice.device_keys(), alice.user_id, alice_keys.self_signing)
    await alice.client().post(
        "/_matrix/client/v3/keys/signatures/upload",
        json_body={alice.user_id: {alice.device_id: signed}},
    )
    assert await changes(homeserver, mark, "@carol:localhost") == [alice.user_id]


async def test_deleting_a_device_deletes_its_keys_and_is_a_change(
    homeserver: TestHomeserver,
) -> None:
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    await alice.upload(
        device_keys=alice.device_keys(),
        one_time_keys=alice.one_time_keys(5),
        fallback_keys=alice.fallback_key(),
    )
    mark = await position(homeserver)
    await homeserver.services.accounts.devices.delete(alice.user_id, [alice.device_id])
    assert await changes(homeserver, mark, bob.user_id) == [alice.user_id]
    response = await bob.client().post(QUERY, json_body={"device_keys": {alice.user_id: []}})
    assert response.json()["device_keys"] == {alice.user_id: {}}
    db = homeserver.services.db
    assert await db.run_read(e2e_sql.one_time_key_counts_txn, alice.user_id, alice.device_id) == {}
    unused = await db.run_read(
        e2e_sql.unused_fallback_key_types_txn, alice.user_id, alice.device_id
    )
    assert unused == []
    # Its token is gone with it.
    response = await alice.upload(one_time_keys=alice.one_time_keys(1))
    assert response.status == 401


async def test_delete_device_keys_txn_alone(homeserver: TestHomeserver) -> None:
    """The function device deletion calls: keys go, a change is recorded,
    and an empty list does nothing."""
    alice = await new_device(homeserver, "alice")
    await alice.upload(device_keys=alice.device_keys(), one_time_keys=alice.one_time_keys(2))
    db = homeserver.services.db
    mark = await position(homeserver)
    await db.run_write(e2e_sql.delete_device_keys_txn, alice.user_id, [])
    assert await position(homeserver) == mark
    await db.run_write(e2e_sql.delete_device_keys_txn, alice.user_id, [alice.device_id, "NONE"])
    assert await changes(homeserver, mark, "@bob:localhost") == [alice.user_id]
    assert await db.run_read(e2e_sql.get_device_keys_txn, alice.user_id, alice.device_id) is None
    assert await db.run_read(e2e_sql.one_time_key_counts_txn, alice.user_id, alice.device_id) == {}
