"""GET /profile/{userId} and GET/PUT/DELETE /profile/{userId}/{keyName}."""

from __future__ import annotations

import pytest

from tests.api.accounts_helpers import V3, errcode
from trioserver.testing import TestHomeserver, open_test_homeserver

ALICE = "@alice:localhost"


async def test_display_name_and_avatar(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    changed: list[str] = []

    async def on_change(user_id: str) -> None:
        changed.append(user_id)

    homeserver.services.hooks.profile_changed = on_change
    anyone = homeserver.client()
    client = homeserver.client(alice.access_token)
    assert (await anyone.get(f"{V3}/profile/{ALICE}")).json() == {"displayname": "alice"}

    put = await client.put(f"{V3}/profile/{ALICE}/displayname", json_body={"displayname": "Alice"})
    assert (put.status, put.json()) == (200, {})
    avatar = "mxc://localhost/AbC_12-x"
    put = await client.put(f"{V3}/profile/{ALICE}/avatar_url", json_body={"avatar_url": avatar})
    assert put.status == 200
    got = await anyone.get(f"{V3}/profile/{ALICE}/displayname")
    assert got.json() == {"displayname": "Alice"}
    whole = await anyone.get(f"{V3}/profile/{ALICE}")
    assert whole.json() == {"displayname": "Alice", "avatar_url": avatar}
    assert changed == [ALICE, ALICE]

    cleared = await client.put(f"{V3}/profile/{ALICE}/avatar_url", json_body={"avatar_url": ""})
    assert cleared.status == 200
    assert errcode(await anyone.get(f"{V3}/profile/{ALICE}/avatar_url")) == (404, "M_NOT_FOUND")
    deleted = await client.delete(f"{V3}/profile/{ALICE}/displayname")
    assert (deleted.status, deleted.json()) == (200, {})
    assert (await anyone.get(f"{V3}/profile/{ALICE}")).json() == {}
    assert len(changed) == 4


async def test_extended_fields(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    changed: list[str] = []

    async def on_change(user_id: str) -> None:
        changed.append(user_id)

    homeserver.services.hooks.profile_changed = on_change
    custom = {"nested": [1, 2.5, None], "ok": True}
    put = await client.put(
        f"{V3}/profile/{ALICE}/org.example.thing", json_body={"org.example.thing": custom}
    )
    assert put.status == 200
    tz = await client.put(f"{V3}/profile/{ALICE}/m.tz", json_body={"m.tz": "Europe/London"})
    assert tz.status == 200
    got = await client.get(f"{V3}/profile/{ALICE}/org.example.thing")
    assert got.json() == {"org.example.thing": custom}
    assert (await client.get(f"{V3}/profile/{ALICE}")).json()["m.tz"] == "Europe/London"
    assert changed == []  # only display name and avatar reach member events
    too_big = await client.put(
        f"{V3}/profile/{ALICE}/org.example.big", json_body={"org.example.big": "x" * 70_000}
    )
    assert errcode(too_big) == (400, "M_PROFILE_TOO_LARGE")


@pytest.mark.parametrize(
    ("key", "body", "status", "code"),
    [
        ("displayname", {}, 400, "M_MISSING_PARAM"),
        ("displayname", {"displayname": 5}, 400, "M_INVALID_PARAM"),
        ("displayname", {"displayname": None}, 400, "M_INVALID_PARAM"),
        ("displayname", {"displayname": "x" * 257}, 400, "M_INVALID_PARAM"),
        ("avatar_url", {"avatar_url": "https://example.org/a.png"}, 400, "M_INVALID_PARAM"),
        ("avatar_url", {"avatar_url": "mxc://bad server/x"}, 400, "M_INVALID_PARAM"),
        ("m.tz", {"m.tz": 1}, 400, "M_INVALID_PARAM"),
        ("Not.Valid", {"Not.Valid": 1}, 400, "M_INVALID_PARAM"),
        ("nodots", {"nodots": 1}, 400, "M_INVALID_PARAM"),
        ("a." + "b" * 300, {}, 400, "M_KEY_TOO_LARGE"),
    ],
)
async def test_bad_profile_updates(
    homeserver: TestHomeserver, key: str, body: dict[str, object], status: int, code: str
) -> None:
    alice = await homeserver.register_user("alice")
    response = await homeserver.client(alice.access_token).put(
        f"{V3}/profile/{ALICE}/{key}", json_body=body
    )
    assert errcode(response) == (status, code)


async def test_only_the_owner_changes_a_profile(homeserver: TestHomeserver) -> None:
    await homeserver.register_user("alice")
    bob = await homeserver.register_user("bob")
    url = f"{V3}/profile/{ALICE}/displayname"
    other = await homeserver.client(bob.access_token).put(url, json_body={"displayname": "x"})
    assert errcode(other) == (403, "M_FORBIDDEN")
    assert errcode(await homeserver.client(bob.access_token).delete(url)) == (403, "M_FORBIDDEN")
    anonymous = await homeserver.client().put(url, json_body={"displayname": "x"})
    assert errcode(anonymous) == (401, "M_MISSING_TOKEN")
    unknown = await homeserver.client().get(f"{V3}/profile/@nobody:localhost")
    assert errcode(unknown) == (404, "M_NOT_FOUND")
    remote = await homeserver.client().get(f"{V3}/profile/@alice:elsewhere.org/displayname")
    assert errcode(remote) == (404, "M_NOT_FOUND")
    not_a_user = await homeserver.client().get(f"{V3}/profile/not-a-user-id")
    assert errcode(not_a_user) == (404, "M_NOT_FOUND")


async def test_guests_may_only_change_their_display_name() -> None:
    async with open_test_homeserver(guest_access=True) as hs:
        guest = (
            await hs.client().post(f"{V3}/register", json_body={}, query={"kind": "guest"})
        ).json()
        client = hs.client(guest["access_token"])
        user = guest["user_id"]
        name = await client.put(f"{V3}/profile/{user}/displayname", json_body={"displayname": "G"})
        assert name.status == 200
        avatar = await client.put(
            f"{V3}/profile/{user}/avatar_url", json_body={"avatar_url": "mxc://localhost/a"}
        )
        assert errcode(avatar) == (403, "M_GUEST_ACCESS_FORBIDDEN")
