"""A complete homeserver inside your own trio test, in milliseconds.

    async with open_test_homeserver() as hs:
        alice = await hs.register_user("alice")
        async with httpx.AsyncClient(base_url=hs.base_url) as client:
            ...

or, with the pytest plugin this package installs, ``async def test_bot(homeserver): ...``.

Under ``trio.testing.MockClock`` the server runs deterministically: database
calls run inline on the trio thread against an in-memory database and
timestamps follow the mock clock. Use :meth:`TestHomeserver.client` (an
in-memory transport) for requests then, rather than the real socket.
"""

from trioserver.testing.homeserver import TestClient, TestHomeserver, open_test_homeserver

__all__ = ["TestClient", "TestHomeserver", "open_test_homeserver"]
