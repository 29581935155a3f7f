"""GET /notifications: built from push rules, newest first, paginated."""

from __future__ import annotations

from tests.api.rooms_helpers import V3, err, q, user
from trioserver.testing import TestHomeserver


async def test_notifications(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    ids = [await alice.send_ok(room, f"m{i}", f"t{i}") for i in range(3)]
    mention = {"msgtype": "m.text", "body": "b", "m.mentions": {"user_ids": [bob.user_id]}}
    ids.append((await alice.send(room, mention, "t3")).json()["event_id"])
    receipt = f"{V3}/rooms/{q(room)}/receipt/m.read/{q(ids[0])}"
    assert (await bob.client.post(receipt, json_body={})).status == 200

    page = (await bob.client.get(f"{V3}/notifications", query={"limit": "2"})).json()
    assert [n["event"]["event_id"] for n in page["notifications"]] == [ids[3], ids[2]]
    first = page["notifications"][0]
    assert first["room_id"] == room and "notify" in first["actions"] and first["read"] is False
    assert isinstance(first["ts"], int)
    rest = (await bob.client.get(f"{V3}/notifications", query={"from": page["next_token"]})).json()
    assert [n["event"]["event_id"] for n in rest["notifications"]] == [ids[1], ids[0]]
    assert [n["read"] for n in rest["notifications"]] == [False, True]
    highlights = (await bob.client.get(f"{V3}/notifications", query={"only": "highlight"})).json()
    assert [n["event"]["event_id"] for n in highlights["notifications"]] == [ids[3]]
    assert (await alice.client.get(f"{V3}/notifications")).json()["notifications"] == []
    for bad in ({"from": "abc"}, {"limit": "-1"}, {"limit": "x"}):
        assert err(await bob.client.get(f"{V3}/notifications", query=bad))[0] == 400
    assert (await homeserver.client().get(f"{V3}/notifications")).status == 401
