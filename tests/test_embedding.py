"""trioserver.testing: a homeserver inside the caller's trio run, deterministic under MockClock."""

from __future__ import annotations

import trio
import trio.testing

from trioserver.testing import open_test_homeserver
from trioserver.util.clock import TrioClock


async def test_starts_and_stops_cleanly_under_a_mock_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    started = trio.current_time()
    async with open_test_homeserver() as hs:
        assert hs.deterministic
        assert isinstance(hs.services.clock, TrioClock)
        assert hs.services.db.inline and hs.services.db.path == ":memory:"
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        first = (await client.get("/_matrix/key/v2/server")).json()["valid_until_ts"]

        # Half an hour of waiting passes at once; timestamps follow the mock clock.
        await trio.sleep(30 * 60)
        second = (await client.get("/_matrix/key/v2/server")).json()["valid_until_ts"]
        assert second - first == 30 * 60 * 1000
        assert (await client.get("/_matrix/client/v3/account/whoami")).status == 200
    assert trio.current_time() - started >= 30 * 60


async def test_a_long_poll_with_a_30_minute_timeout_completes_under_the_mock_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_homeserver() as hs:
        # A waiter that would sit 30 minutes on a real clock, woken by the server's own clock.
        with trio.move_on_after(30 * 60) as scope:
            await trio.sleep_forever()
        assert scope.cancelled_caught
        versions = await hs.client().get("/_matrix/client/versions")
        assert versions.status == 200


async def test_a_real_database_file_and_socket_by_default(tmp_path: object) -> None:
    async with open_test_homeserver() as hs:
        assert not hs.deterministic
        assert hs.base_url.startswith("http://127.0.0.1:")
        assert hs.services.db.path.endswith("homeserver.db")
        session = await hs.register_user("bot")
        assert session.user_id == "@bot:localhost"


async def test_two_homeservers_side_by_side() -> None:
    async with open_test_homeserver() as one, open_test_homeserver() as two:
        assert one.base_url != two.base_url
        await one.register_user("alice")
        await two.register_user("alice")  # separate databases


async def test_the_pytest_fixture(homeserver: object) -> None:
    from trioserver.testing import TestHomeserver

    assert isinstance(homeserver, TestHomeserver)
    assert (await homeserver.client().get("/_matrix/client/versions")).status == 200
