"""Access tokens are remembered between requests; every change to a token or
its holder is seen by the very next request. Each test uses the token first,
so its holder is remembered, then changes it."""

from __future__ import annotations

from tests.api.accounts_helpers import V3, errcode, password_auth
from trioserver.accounts.token_cache import TokenCache
from trioserver.db.accounts import TokenOwner
from trioserver.testing import TestHomeserver, open_test_homeserver

WHOAMI = f"{V3}/account/whoami"


async def used(hs: TestHomeserver, token: str) -> dict[str, object]:
    response = await hs.client(token).get(WHOAMI)
    assert response.status == 200, response.json()
    return dict(response.json())


async def test_a_deleted_device_s_remembered_token_is_refused(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice", "pw")
    phone = await homeserver.services.accounts.open_session(alice.user_id)
    await used(homeserver, phone.access_token)
    deleted = await homeserver.client(alice.access_token).post(
        f"{V3}/delete_devices",
        json_body={"devices": [phone.device_id], "auth": password_auth("alice", "pw")},
    )
    assert deleted.status == 200, deleted.json()
    gone = await homeserver.client(phone.access_token).get(WHOAMI)
    assert errcode(gone) == (401, "M_UNKNOWN_TOKEN")


async def test_logout_all_refuses_every_remembered_token(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    phone = await homeserver.services.accounts.open_session(alice.user_id)
    await used(homeserver, phone.access_token)
    await used(homeserver, alice.access_token)
    out = await homeserver.client(alice.access_token).post(f"{V3}/logout/all")
    assert out.status == 200
    for token in (phone.access_token, alice.access_token):
        assert errcode(await homeserver.client(token).get(WHOAMI)) == (401, "M_UNKNOWN_TOKEN")


async def test_a_deactivated_user_s_remembered_token_is_refused(
    homeserver: TestHomeserver,
) -> None:
    alice = await homeserver.register_user("alice", "pw")
    phone = await homeserver.services.accounts.open_session(alice.user_id)
    await used(homeserver, phone.access_token)
    done = await homeserver.client(alice.access_token).post(
        f"{V3}/account/deactivate", json_body={"auth": password_auth("alice", "pw")}
    )
    assert done.status == 200, done.json()
    gone = await homeserver.client(phone.access_token).get(WHOAMI)
    assert errcode(gone) == (401, "M_UNKNOWN_TOKEN")


async def test_logging_in_again_on_a_device_refuses_its_remembered_token(
    homeserver: TestHomeserver,
) -> None:
    alice = await homeserver.register_user("alice")
    first = await homeserver.services.accounts.open_session(alice.user_id, "LAPTOP")
    await used(homeserver, first.access_token)
    second = await homeserver.services.accounts.open_session(alice.user_id, "LAPTOP")
    assert errcode(await homeserver.client(first.access_token).get(WHOAMI)) == (
        401,
        "M_UNKNOWN_TOKEN",
    )
    assert (await used(homeserver, second.access_token))["device_id"] == "LAPTOP"


async def test_an_upgraded_guest_s_remembered_token_is_no_longer_a_guest_s() -> None:
    async with open_test_homeserver(guest_access=True) as hs:
        guest = await hs.services.accounts.register_guest()
        assert (await used(hs, guest.access_token))["is_guest"] is True
        localpart = guest.user_id[1:].split(":")[0]
        upgraded = await hs.client().post(
            f"{V3}/register",
            json_body={
                "username": localpart,
                "password": "pw",
                "guest_access_token": guest.access_token,
                "auth": {"type": "m.login.dummy"},
            },
        )
        assert upgraded.status == 200, upgraded.json()
        # The guest's token stays valid, now for a full account.
        assert "is_guest" not in await used(hs, guest.access_token)
        allowed = await hs.client(guest.access_token).get(f"{V3}/account/3pid")
        assert allowed.status == 200


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = TokenCache(size=2)
    owners = [
        TokenOwner(f"@u{i}:hs", "D", False, False, False, None, None, False) for i in range(3)
    ]
    cache.put(b"0", owners[0])
    cache.put(b"1", owners[1])
    assert cache.get(b"0") is owners[0]  # now the most recently used
    cache.put(b"2", owners[2])
    assert (cache.get(b"0"), cache.get(b"1"), cache.get(b"2")) == (owners[0], None, owners[2])
    cache.invalidate()
    assert len(cache) == 0
