"""PUT /sendToDevice and its delivery through /sync."""

from __future__ import annotations

import pytest

from tests.api.rooms_helpers import V3, user
from tests.sync.sync_helpers import sync
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def test_delivery_redelivery_and_idempotence(
    homeserver: TestHomeserver,
) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    first = await sync(bob)
    body = {
        "messages": {bob.user_id: {bob.device_id: {"hello": 1}}, "@x:remote.example": {"*": {}}}
    }
    for _ in range(2):  # same txn ID: stored once
        response = await alice.client.put(f"{V3}/sendToDevice/m.test/txn1", json_body=body)
        assert response.status == 200, response.json()
    got = await sync(bob, first["next_batch"])
    assert got["to_device"]["events"] == [
        {"sender": alice.user_id, "type": "m.test", "content": {"hello": 1}}
    ]
    # the response was "lost": the same since delivers again
    again = await sync(bob, first["next_batch"])
    assert again["to_device"]["events"] == got["to_device"]["events"]
    # acknowledged by the next since: gone
    after = await sync(bob, again["next_batch"])
    assert after["to_device"]["events"] == []
    # "*": every device
    await alice.client.put(
        f"{V3}/sendToDevice/m.test/txn2", json_body={"messages": {bob.user_id: {"*": {"n": 2}}}}
    )
    latest = await sync(bob, after["next_batch"])
    assert [e["content"] for e in latest["to_device"]["events"]] == [{"n": 2}]
    bad = await alice.client.put(f"{V3}/sendToDevice/m.test/txn3", json_body={"messages": 1})
    assert bad.status == 400
