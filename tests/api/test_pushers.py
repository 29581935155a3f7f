"""Pushers: stored and listed (delivery is not implemented yet)."""

from __future__ import annotations

from typing import Any

from tests.api.rooms_helpers import V3, err, user
from trioserver.testing import TestHomeserver

URL = "https://push.example.org/_matrix/push/v1/notify"


def _pusher(**overrides: Any) -> dict[str, Any]:
    body = {
        "pushkey": "key1",
        "kind": "http",
        "app_id": "org.example.app",
        "app_display_name": "App",
        "device_display_name": "Phone",
        "lang": "en",
        "data": {"url": URL, "format": "event_id_only"},
    }
    body.update(overrides)
    return body


async def test_set_list_delete(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    assert (await alice.client.get(f"{V3}/pushers")).json() == {"pushers": []}
    assert (await alice.post("/pushers/set", _pusher(profile_tag="tag"))).status == 200
    listed = (await alice.client.get(f"{V3}/pushers")).json()["pushers"]
    assert listed == [{k: v for k, v in _pusher(profile_tag="tag").items()}]
    # Same app/pushkey for another user replaces alice's unless append.
    assert (await bob.post("/pushers/set", _pusher(append=True))).status == 200
    assert len((await alice.client.get(f"{V3}/pushers")).json()["pushers"]) == 1
    assert (await bob.post("/pushers/set", _pusher())).status == 200
    assert (await alice.client.get(f"{V3}/pushers")).json() == {"pushers": []}
    assert (await bob.post("/pushers/set", {**_pusher(), "kind": None})).status == 200
    assert (await bob.client.get(f"{V3}/pushers")).json() == {"pushers": []}


async def test_errors(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    for bad in [
        {k: v for k, v in _pusher().items() if k != "pushkey"},
        {k: v for k, v in _pusher().items() if k != "kind"},
        {k: v for k, v in _pusher().items() if k != "lang"},
        _pusher(kind="sms"),
        _pusher(data={"url": "http://insecure/_matrix/push/v1/notify"}),
        _pusher(data={"url": "https://x.org/other"}),
        _pusher(data={}),
        _pusher(data=[]),
        _pusher(data={"url": URL, "format": "full"}),
        _pusher(app_id="x" * 65),
        _pusher(pushkey="k" * 513),
        _pusher(pushkey=5),
    ]:
        assert err(await alice.post("/pushers/set", bad))[0] == 400, bad
    assert (await homeserver.client().get(f"{V3}/pushers")).status == 401
