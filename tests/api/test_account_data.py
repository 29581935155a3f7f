"""Account data (global and per room) with its stream, and room tags."""

from __future__ import annotations

from tests.api.accounts_helpers import V3, errcode
from trioserver.db import account_data as account_data_sql
from trioserver.testing import TestHomeserver

ALICE = "@alice:localhost"
ROOM = "!room:localhost"


async def test_global_and_room_account_data(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    changes: list[tuple[str, int]] = []

    async def on_change(user_id: str, position: int) -> None:
        changes.append((user_id, position))

    homeserver.services.hooks.account_data_changed = on_change
    url = f"{V3}/user/{ALICE}/account_data/org.example.config"
    assert errcode(await client.get(url)) == (404, "M_NOT_FOUND")
    put = await client.put(url, json_body={"theme": "dark", "scale": 1.5})
    assert (put.status, put.json()) == (200, {})
    assert (await client.get(url)).json() == {"theme": "dark", "scale": 1.5}

    room_url = f"{V3}/user/{ALICE}/rooms/{ROOM}/account_data/org.example.config"
    assert errcode(await client.get(room_url)) == (404, "M_NOT_FOUND")  # no fallback to global
    assert (await client.put(room_url, json_body={"muted": True})).status == 200
    assert (await client.get(room_url)).json() == {"muted": True}
    assert (await client.put(url, json_body={"theme": "light"})).status == 200

    assert [user for user, _ in changes] == [ALICE] * 3
    positions = [position for _, position in changes]
    assert positions == sorted(set(positions))
    db = homeserver.services.db
    since_first = await db.run_read(account_data_sql.changes_since_txn, ALICE, positions[0])
    assert [(c.room_id, c.type, c.stream_pos) for c in since_first] == [
        (ROOM, "org.example.config", positions[1]),
        (None, "org.example.config", positions[2]),
    ]
    assert await db.run_read(account_data_sql.current_position_txn) == positions[2]


async def test_account_data_errors(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    await homeserver.register_user("bob")
    client = homeserver.client(alice.access_token)
    bobs = f"{V3}/user/@bob:localhost/account_data/org.example"
    assert errcode(await client.get(bobs)) == (403, "M_FORBIDDEN")
    assert errcode(await client.put(bobs, json_body={})) == (403, "M_FORBIDDEN")
    for managed in ("m.fully_read", "m.push_rules"):
        for url in (
            f"{V3}/user/{ALICE}/account_data/{managed}",
            f"{V3}/user/{ALICE}/rooms/{ROOM}/account_data/{managed}",
        ):
            refused = await client.put(url, json_body={"event_id": "$x"})
            assert errcode(refused) == (405, "M_BAD_JSON")
    bad_room = f"{V3}/user/{ALICE}/rooms/@notaroom:localhost/account_data/org.example"
    assert errcode(await client.get(bad_room)) == (400, "M_INVALID_PARAM")
    not_object = await client.put(f"{V3}/user/{ALICE}/account_data/org.example", data=b"[1]")
    assert errcode(not_object) == (400, "M_NOT_JSON")
    anonymous = await homeserver.client().get(f"{V3}/user/{ALICE}/account_data/org.example")
    assert errcode(anonymous) == (401, "M_MISSING_TOKEN")


async def test_room_tags(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    tags = f"{V3}/user/{ALICE}/rooms/{ROOM}/tags"
    assert (await client.get(tags)).json() == {"tags": {}}
    assert (await client.put(f"{tags}/m.favourite", json_body={"order": 0.25})).status == 200
    assert (await client.put(f"{tags}/u.Work", json_body={})).status == 200
    assert (await client.get(tags)).json() == {
        "tags": {"m.favourite": {"order": 0.25}, "u.Work": {}}
    }
    m_tag = f"{V3}/user/{ALICE}/rooms/{ROOM}/account_data/m.tag"
    assert (await client.get(m_tag)).json() == {
        "tags": {"m.favourite": {"order": 0.25}, "u.Work": {}}
    }
    removed = await client.delete(f"{tags}/m.favourite")
    assert (removed.status, removed.json()) == (200, {})
    assert (await client.delete(f"{tags}/never.set")).status == 200
    assert (await client.get(tags)).json() == {"tags": {"u.Work": {}}}

    bad_order = await client.put(f"{tags}/u.x", json_body={"order": "first"})
    assert errcode(bad_order) == (400, "M_INVALID_PARAM")
    long_tag = await client.put(f"{tags}/u.{'x' * 260}", json_body={})
    assert errcode(long_tag) == (400, "M_INVALID_PARAM")
    bob = await homeserver.register_user("bob")
    other = await homeserver.client(bob.access_token).get(tags)
    assert errcode(other) == (403, "M_FORBIDDEN")
