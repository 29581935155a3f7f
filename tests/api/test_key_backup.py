"""Server-side key backups: /room_keys/version and /room_keys/keys, the
spec's replace rules, etag and count."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.e2ee_helpers import Device, new_device
from trioserver.e2ee.backup_rules import RoomKey, should_replace
from trioserver.testing import TestHomeserver
from trioserver.testing.homeserver import TestResponse

VERSION = "/_matrix/client/v3/room_keys/version"
KEYS = "/_matrix/client/v3/room_keys/keys"
ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
ROOM = "!room:localhost"
SESSION = "abc/def+ghi"  # session IDs are base64: "/" and "+" appear


def _key(verified: bool, first: int, forwarded: int, data: str = "x") -> RoomKey:
    return RoomKey(first, forwarded, verified, data)


@pytest.mark.parametrize(
    ("old", "new", "replaced"),
    [
        # is_verified decides first, whatever the indexes say.
        (_key(False, 0, 0), _key(True, 9, 9), True),
        (_key(True, 9, 9), _key(False, 0, 0), False),
        # Same is_verified: the lower first_message_index wins.
        (_key(True, 5, 0), _key(True, 4, 9), True),
        (_key(False, 4, 0), _key(False, 5, 0), False),
        # Same index too: the lower forwarded_count wins.
        (_key(True, 3, 2), _key(True, 3, 1), True),
        (_key(False, 3, 1), _key(False, 3, 2), False),
        # A full tie keeps the stored key.
        (_key(True, 3, 1, "old"), _key(True, 3, 1, "new"), False),
    ],
)
def test_replace_rules(old: RoomKey, new: RoomKey, replaced: bool) -> None:
    assert should_replace(old, new) is replaced


room_keys = st.builds(
    RoomKey,
    st.integers(0, 3),
    st.integers(0, 3),
    st.booleans(),
    st.sampled_from(["a", "b"]),
)


@given(room_keys, room_keys, room_keys)
def test_replace_rules_are_a_strict_order(a: RoomKey, b: RoomKey, c: RoomKey) -> None:
    """Whatever order keys arrive in, the best one ends up stored: the rule
    is irreflexive, asymmetric and transitive."""
    assert not should_replace(a, a)
    assert not (should_replace(a, b) and should_replace(b, a))
    if should_replace(a, b) and should_replace(b, c):
        assert should_replace(a, c)


def key_data(
    verified: bool = False, first: int = 0, forwarded: int = 0, tag: str = "a"
) -> dict[str, Any]:
    return {
        "first_message_index": first,
        "forwarded_count": forwarded,
        "is_verified": verified,
        "session_data": {"ephemeral": tag, "ciphertext": tag, "mac": tag},
    }


async def create(alice: Device, public_key: str = "pub") -> str:
    body = {"algorithm": ALGORITHM, "auth_data": {"public_key": public_key, "signatures": {}}}
    response = await alice.client().post(VERSION, json_body=body)
    assert response.status == 200, response.body
    version: str = response.json()["version"]
    return version


async def put(alice: Device, version: str, body: Any, path: str = "") -> TestResponse:
    return await alice.client().put(f"{KEYS}{path}", json_body=body, query={"version": version})


async def get(alice: Device, version: str, path: str = "") -> TestResponse:
    return await alice.client().get(f"{KEYS}{path}", query={"version": version})


async def test_versions_lifecycle(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    client = alice.client()
    response = await client.get(VERSION)
    assert response.status == 404
    assert response.json()["errcode"] == "M_NOT_FOUND"
    first = await create(alice, "one")
    second = await create(alice, "two")
    assert first != second
    current = (await client.get(VERSION)).json()
    assert current == {
        "version": second,
        "algorithm": ALGORITHM,
        "auth_data": {"public_key": "two", "signatures": {}},
        "etag": current["etag"],
        "count": 0,
    }
    assert (await client.get(f"{VERSION}/{first}")).json()["auth_data"]["public_key"] == "one"
    # Update: only auth_data changes; algorithm and version must match.
    new_auth = {"public_key": "two", "signatures": {"@alice:localhost": {"ed25519:X": "sig"}}}
    body = {"algorithm": ALGORITHM, "auth_data": new_auth, "version": second}
    assert (await client.put(f"{VERSION}/{second}", json_body=body)).status == 200
    assert (await client.get(VERSION)).json()["auth_data"] == new_auth
    for bad in ({**body, "version": first}, {**body, "algorithm": "other.algorithm"}):
        response = await client.put(f"{VERSION}/{second}", json_body=bad)
        assert response.status == 400
        assert response.json()["errcode"] == "M_INVALID_PARAM"
    # Delete: the previous version is current again; deleting twice is fine.
    assert (await client.delete(f"{VERSION}/{second}")).status == 200
    assert (await client.delete(f"{VERSION}/{second}")).status == 200
    assert (await client.get(VERSION)).json()["version"] == first
    for missing in (second, "999", "not-a-number"):
        response = await client.get(f"{VERSION}/{missing}")
        assert response.status == 404
        assert response.json()["errcode"] == "M_NOT_FOUND"
    assert (await client.delete(f"{VERSION}/999")).status == 404
    # Versions are never reused.
    assert await create(alice) not in (first, second)


async def test_backups_are_per_user(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    bob = await new_device(homeserver, "bob")
    version = await create(alice)
    assert (await bob.client().get(VERSION)).status == 404
    assert (await bob.client().get(f"{VERSION}/{version}")).status == 404
    assert (await get(bob, version)).status == 404


@pytest.mark.parametrize(
    "body",
    [
        {"auth_data": {"public_key": "x"}},
        {"algorithm": ALGORITHM},
        {"algorithm": ALGORITHM, "auth_data": "x"},
        {"algorithm": ALGORITHM, "auth_data": {}},  # this algorithm needs a public_key
        {"algorithm": 5, "auth_data": {}},
        {"algorithm": ALGORITHM, "auth_data": {"public_key": "x", "f": 0.5}},
    ],
)
async def test_bad_version_bodies_are_400(homeserver: TestHomeserver, body: dict[str, Any]) -> None:
    alice = await new_device(homeserver, "alice")
    response = await alice.client().post(VERSION, json_body=body)
    assert response.status == 400
    assert response.json()["errcode"] in ("M_MISSING_PARAM", "M_INVALID_PARAM", "M_BAD_JSON")


async def test_keys_put_get_delete_with_etag_and_count(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    version = await create(alice)
    etag0 = (await alice.client().get(VERSION)).json()["etag"]
    response = await put(alice, version, key_data(tag="one"), f"/{ROOM}/{SESSION}")
    assert response.status == 200, response.body
    etag1 = response.json()["etag"]
    assert response.json()["count"] == 1
    assert etag1 != etag0
    # Other shapes: one room's sessions, and all rooms.
    response = await put(alice, version, {"sessions": {"s2": key_data()}}, f"/{ROOM}")
    assert response.json()["count"] == 2
    rooms = {"rooms": {"!other:localhost": {"sessions": {"s3": key_data()}}}}
    response = await put(alice, version, rooms)
    assert response.json()["count"] == 3
    etag3 = response.json()["etag"]
    assert (await get(alice, version, f"/{ROOM}/{SESSION}")).json() == key_data(tag="one")
    assert set((await get(alice, version, f"/{ROOM}")).json()["sessions"]) == {SESSION, "s2"}
    everything = (await get(alice, version)).json()
    assert set(everything["rooms"]) == {ROOM, "!other:localhost"}
    assert (await alice.client().get(VERSION)).json()["count"] == 3
    # Missing things.
    response = await get(alice, version, f"/{ROOM}/nope")
    assert response.status == 404
    assert response.json()["errcode"] == "M_NOT_FOUND"
    assert (await get(alice, version, "/!empty:localhost")).json() == {"sessions": {}}
    # A put that changes nothing keeps the etag.
    response = await put(alice, version, key_data(tag="one"), f"/{ROOM}/{SESSION}")
    assert response.json()["etag"] == etag3
    # Deleting: one session, one room, everything.
    delete = alice.client().delete
    response = await delete(f"{KEYS}/{ROOM}/{SESSION}", query={"version": version})
    assert response.json()["count"] == 2
    assert response.json()["etag"] != etag3
    response = await delete(f"{KEYS}/{ROOM}", query={"version": version})
    assert response.json()["count"] == 1
    response = await delete(KEYS, query={"version": version})
    assert response.json()["count"] == 0
    assert (await get(alice, version)).json() == {"rooms": {}}
    # Deleting the version deletes its keys.
    await put(alice, version, key_data(), f"/{ROOM}/{SESSION}")
    await alice.client().delete(f"{VERSION}/{version}")
    assert (await get(alice, version)).status == 404


async def test_keys_replace_by_the_spec_rules(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    version = await create(alice)
    path = f"/{ROOM}/{SESSION}"
    steps = [
        (key_data(False, 5, 2, "a"), "a"),
        (key_data(False, 5, 3, "b"), "a"),  # more forwarded: kept old
        (key_data(False, 5, 1, "c"), "c"),  # less forwarded
        (key_data(False, 9, 0, "d"), "c"),  # later index
        (key_data(False, 4, 9, "e"), "e"),  # earlier index
        (key_data(True, 99, 99, "f"), "f"),  # verified wins
        (key_data(False, 0, 0, "g"), "f"),  # unverified never replaces verified
    ]
    etag = None
    for data, kept in steps:
        response = await put(alice, version, data, path)
        assert response.status == 200
        stored = (await get(alice, version, path)).json()
        assert stored["session_data"]["mac"] == kept
        replaced = kept == data["session_data"]["mac"]
        assert (response.json()["etag"] != etag) is replaced
        etag = response.json()["etag"]
        assert response.json()["count"] == 1


async def test_writing_to_an_old_version_is_403_with_the_current_version(
    homeserver: TestHomeserver,
) -> None:
    alice = await new_device(homeserver, "alice")
    response = await put(alice, "1", key_data(), f"/{ROOM}/{SESSION}")
    assert response.status == 404  # no backup at all
    old = await create(alice)
    new = await create(alice)
    for version in (old, "12345", "garbage"):
        response = await put(alice, version, key_data(), f"/{ROOM}/{SESSION}")
        assert response.status == 403
        assert response.json()["errcode"] == "M_WRONG_ROOM_KEYS_VERSION"
        assert response.json()["current_version"] == new
    # Reading an old (not deleted) version is fine.
    assert (await get(alice, old)).json() == {"rooms": {}}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"first_message_index": 0}, f"/{ROOM}/{SESSION}"),
        ({**key_data(), "first_message_index": -1}, f"/{ROOM}/{SESSION}"),
        ({**key_data(), "forwarded_count": "1"}, f"/{ROOM}/{SESSION}"),
        ({**key_data(), "is_verified": 1}, f"/{ROOM}/{SESSION}"),
        ({**key_data(), "session_data": "x"}, f"/{ROOM}/{SESSION}"),
        ({**key_data(), "first_message_index": 1.5}, f"/{ROOM}/{SESSION}"),
        ({"sessions": []}, f"/{ROOM}"),
        ({"nothing": {}}, f"/{ROOM}"),
        ({"rooms": {"not-a-room": {"sessions": {}}}}, ""),
        ({"rooms": []}, ""),
        (key_data(), "/not-a-room/s1"),
    ],
)
async def test_bad_key_bodies_are_400(homeserver: TestHomeserver, body: Any, path: str) -> None:
    alice = await new_device(homeserver, "alice")
    version = await create(alice)
    response = await put(alice, version, body, path)
    assert response.status == 400, response.body
    assert response.json()["errcode"] in ("M_MISSING_PARAM", "M_INVALID_PARAM", "M_BAD_JSON")
    assert (await alice.client().get(VERSION)).json()["count"] == 0


async def test_the_version_parameter_is_required(homeserver: TestHomeserver) -> None:
    alice = await new_device(homeserver, "alice")
    await create(alice)
    response = await alice.client().get(KEYS)
    assert response.status == 400
    assert response.json()["errcode"] == "M_MISSING_PARAM"
