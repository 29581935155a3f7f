"""matrix-nio logs in to a real trioserver on a loopback socket."""

from __future__ import annotations

import nio

from tests.e2e.nio_helpers import run_asyncio
from trioserver.testing import TestHomeserver


async def test_nio_logs_in_and_asks_who_it_is(homeserver: TestHomeserver) -> None:
    await homeserver.register_user("alice", "secret-password")

    async def session() -> tuple[object, object, object]:
        client = nio.AsyncClient(homeserver.base_url, "@alice:localhost")
        try:
            login = await client.login("secret-password", device_name="nio test")
            whoami = await client.whoami()
            bad = nio.AsyncClient(homeserver.base_url, "@alice:localhost")
            try:
                refused = await bad.login("wrong")
            finally:
                await bad.close()
            return login, whoami, refused
        finally:
            await client.close()

    login, whoami, refused = await run_asyncio(session)
    assert isinstance(login, nio.LoginResponse)
    assert login.user_id == "@alice:localhost"
    assert isinstance(whoami, nio.WhoamiResponse)
    assert whoami.user_id == "@alice:localhost"
    assert whoami.device_id == login.device_id
    assert isinstance(refused, nio.LoginError)
    assert refused.status_code == "M_FORBIDDEN"
