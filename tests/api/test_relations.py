"""GET /rooms/{roomId}/relations/... and bundled aggregations (spec:
"Forming relationships between events", event_replacements, reference_relations)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.history_helpers import V1, V3, User, messages, q, send_event, user
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def relations(u: User, room_id: str, event_id: str, *path: str, **params: Any) -> Any:
    suffix = "".join(f"/{q(p)}" for p in path)
    return await u.client.get(
        f"{V1}/rooms/{q(room_id)}/relations/{q(event_id)}{suffix}",
        query={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()},
    )


def rel(rel_type: str, parent: str, **extra: Any) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": rel_type, "event_id": parent, **extra}}


async def test_relations_pagination_filters_and_recursion(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await alice.create_room(preset="public_chat")
    root = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "root"})
    refs = [
        await send_event(hs, room, alice.user_id, {"body": f"r{i}", **rel("m.reference", root)})
        for i in range(5)
    ]
    reaction = await send_event(
        hs, room, alice.user_id, rel("m.annotation", root, key="👍"), "m.reaction"
    )
    nested = await send_event(hs, room, alice.user_id, {"body": "n", **rel("m.reference", refs[0])})
    await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "unrelated"})

    everything = (await relations(alice, room, root)).json()
    assert [e["event_id"] for e in everything["chunk"]] == [reaction, *reversed(refs)]
    assert "next_batch" not in everything and "recursion_depth" not in everything

    # Paginate 2 at a time, backwards then forwards.
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await relations(alice, room, root, "m.reference", **params)).json()
        seen += [e["event_id"] for e in page["chunk"]]
        if "next_batch" not in page:
            break
        assert page.get("prev_batch") == params.get("from")
        params["from"] = page["next_batch"]
    assert seen == list(reversed(refs))
    forward = (await relations(alice, room, root, "m.reference", dir="f", limit=3)).json()
    assert [e["event_id"] for e in forward["chunk"]] == refs[:3]
    rest = (
        await relations(
            alice, room, root, "m.reference", dir="f", **{"from": forward["next_batch"]}
        )
    ).json()
    assert [e["event_id"] for e in rest["chunk"]] == refs[3:]

    typed = (await relations(alice, room, root, "m.annotation", "m.reaction")).json()
    assert [e["event_id"] for e in typed["chunk"]] == [reaction]
    assert (await relations(alice, room, root, "m.annotation", "m.other")).json()["chunk"] == []

    recursed = (await relations(alice, room, root, recurse=True)).json()
    assert recursed["recursion_depth"] == 3
    assert nested in [e["event_id"] for e in recursed["chunk"]]
    flat = (await relations(alice, room, root, recurse=False)).json()
    assert flat["recursion_depth"] == 1 and nested not in [e["event_id"] for e in flat["chunk"]]
    # Filters apply at every level: the reaction has no children, refs[0] does.
    deep = (await relations(alice, room, root, "m.reference", recurse=True)).json()["chunk"]
    assert [e["event_id"] for e in deep] == [nested, *reversed(refs)]


async def test_bundled_aggregations(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    original = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "cake"})

    def edit(body: str) -> dict[str, Any]:
        return {
            "msgtype": "m.text",
            "body": f"* {body}",
            "m.new_content": {"msgtype": "m.text", "body": body},
            **rel("m.replace", original),
        }

    await send_event(hs, room, alice.user_id, edit("pie"))
    latest_edit = await send_event(hs, room, alice.user_id, edit("chocolate cake"))
    await send_event(hs, room, bob.user_id, edit("bob may not edit"))  # other sender: invalid
    ref = await send_event(hs, room, bob.user_id, {"body": "see", **rel("m.reference", original)})
    await send_event(hs, room, bob.user_id, rel("m.annotation", original, key="👍"), "m.reaction")

    chunk = (await messages(alice, room, dir="b", limit=20)).json()["chunk"]
    served = next(e for e in chunk if e["event_id"] == original)
    assert served["content"]["body"] == "cake"  # never replaced (spec v1.7+)
    relations_ = served["unsigned"]["m.relations"]
    assert relations_["m.replace"]["event_id"] == latest_edit
    assert relations_["m.replace"]["content"]["m.new_content"]["body"] == "chocolate cake"
    assert relations_["m.reference"] == {"chunk": [{"event_id": ref}]}
    assert "m.annotation" not in relations_
    # The same on /event and /relations' parent.
    single = (await alice.get_event(room, original)).json()
    assert "unsigned" in single

    # Ignoring bob removes his reference from the aggregation.
    await alice.client.put(
        f"{V3}/user/{q(alice.user_id)}/account_data/m.ignored_user_list",
        json_body={"ignored_users": {bob.user_id: {}}},
    )
    chunk = (await messages(alice, room, dir="b", limit=20)).json()["chunk"]
    served = next(e for e in chunk if e["event_id"] == original)
    assert "m.reference" not in served["unsigned"]["m.relations"]

    # Redacting the original: no m.replace bundled; redacting a child breaks the relation.
    await send_event(hs, room, alice.user_id, {}, "m.room.redaction", redacts=original)
    chunk = (await messages(alice, room, dir="b", limit=20)).json()["chunk"]
    served = next(e for e in chunk if e["event_id"] == original)
    assert served["content"] == {}
    assert "m.replace" not in served["unsigned"].get("m.relations", {})


async def test_redacted_children_are_left_out(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await alice.create_room(preset="public_chat")
    root = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "root"})
    child = await send_event(hs, room, alice.user_id, {"body": "c", **rel("m.reference", root)})
    assert [e["event_id"] for e in (await relations(alice, room, root)).json()["chunk"]] == [child]
    await send_event(hs, room, alice.user_id, {}, "m.room.redaction", redacts=child)
    assert (await relations(alice, room, root)).json()["chunk"] == []


async def test_relations_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    eve = await user(hs, "eve")
    room = await alice.create_room()
    root = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "root"})
    assert (await relations(eve, room, root)).status == 404  # may not see it
    assert (await relations(alice, room, "$nope:localhost")).status == 404
    assert (await relations(alice, "!nope:localhost", root)).status == 404
    for params in (
        {"from": "garbage"},
        {"to": "x1"},
        {"limit": "abc"},
        {"limit": "0"},
        {"dir": "up"},
        {"recurse": "yes"},
    ):
        response = await relations(alice, room, root, **params)
        assert (response.status, response.json()["errcode"]) == (400, "M_INVALID_PARAM"), params


async def test_indexer_resumes_and_catches_up_after_restart(tmp_path: Any) -> None:
    from trioserver.db.relations import stream_position_txn
    from trioserver.relations.indexer import NAME
    from trioserver.testing import open_test_homeserver

    path = tmp_path / "hs.db"
    async with open_test_homeserver(db_path=path) as hs:
        alice = await user(hs, "alice")
        room = await alice.create_room(preset="public_chat")
        root = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "r"})
        child = await send_event(hs, room, alice.user_id, {"body": "c", **rel("m.reference", root)})
        assert [e["event_id"] for e in (await relations(alice, room, root)).json()["chunk"]] == [
            child
        ]
        token = alice.client.access_token

        def forget_index(conn: Any) -> None:  # as if the indexer had never run
            conn.execute("DELETE FROM event_relations")
            conn.execute("DELETE FROM relations_stream_position")

        await hs.services.db.run_write(forget_index)

    async with open_test_homeserver(db_path=path) as hs:
        alice = User(alice.user_id, hs.client(token), alice.device_id)
        response = await relations(alice, room, root)
        assert [e["event_id"] for e in response.json()["chunk"]] == [child]
        position = await hs.services.db.run_read(stream_position_txn, NAME)
        assert position == hs.services.roomserver.output.position > 0
