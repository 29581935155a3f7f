"""NIDs, stored events, edges, the auth chain, extremities and stream positions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.roomserver.storage_helpers import RoomBuilder, count, open_test_db
from trioserver.db.nids import FIRST_DYNAMIC_TYPE_NID
from trioserver.db.roomserver_events import (
    NewEvent,
    add_forward_extremity_txn,
    auth_chain_ids_txn,
    auth_chain_txn,
    auth_event_nids_txn,
    forward_extremities_txn,
    get_events_txn,
    latest_stream_position_txn,
    prev_event_nids_txn,
    set_forward_extremities_txn,
    set_redacted_by_txn,
    store_event_txn,
    stored_event_nids_txn,
)
from trioserver.db.roomserver_nids import (
    RoomVersionMismatch,
    event_ids_txn,
    get_or_create_event_nids_txn,
    get_or_create_room_nid_txn,
    get_or_create_state_key_nids_txn,
    get_or_create_type_nid_txn,
    get_or_create_type_nids_txn,
    lookup_event_nids_txn,
    lookup_state_key_nids_txn,
    lookup_type_nids_txn,
    room_info_txn,
    state_keys_txn,
    type_names_txn,
)
from trioserver.db.schema import PACKAGED_SCHEMA, SchemaTree, prepare_database
from trioserver.roomserver.types import (
    EMPTY_STATE_KEY_NID,
    WELL_KNOWN_TYPE_NIDS,
    EventNID,
    EventTypeNID,
    RoomNID,
)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with open_test_db(tmp_path / "test.db") as conn:
        yield conn


def outlier(room_nid: RoomNID, event_id: str, auth: list[str], **kw: object) -> NewEvent:
    fields: dict[str, object] = {
        "event_id": event_id,
        "room_nid": room_nid,
        "event_type": "m.room.member",
        "state_key": "@x:test",
        "depth": 1,
        "origin_server_ts": 1,
        "sender": "@x:test",
        "json": "{}",
        "prev_event_ids": [],
        "auth_event_ids": auth,
        "received_ts": 1,
        "is_outlier": True,
    }
    fields.update(kw)
    return NewEvent(**fields)  # type: ignore[arg-type]


def seeded(conn: sqlite3.Connection) -> tuple[dict[str, int], list[tuple[int, str]]]:
    types = dict(conn.execute("SELECT type, type_nid FROM event_types"))
    keys = conn.execute("SELECT state_key_nid, state_key FROM event_state_keys").fetchall()
    return types, keys


def test_well_known_nids_are_pre_assigned_by_both_schema_routes(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    types, keys = seeded(conn)
    assert types == WELL_KNOWN_TYPE_NIDS
    assert types["m.room.create"] == 1 and types["m.room.member"] == 5
    assert keys == [(EMPTY_STATE_KEY_NID, "")]
    upgraded = sqlite3.connect(str(tmp_path / "upgraded.db"), isolation_level=None)
    prepare_database(upgraded, SchemaTree(PACKAGED_SCHEMA, version=1, compat_version=1))
    prepare_database(upgraded)
    assert seeded(upgraded) == (types, keys)


def test_type_and_state_key_nids(conn: sqlite3.Connection) -> None:
    assert get_or_create_type_nid_txn(conn, "m.room.power_levels") == 2
    new = get_or_create_type_nids_txn(conn, ["org.example.a", "org.example.b", "m.room.name"])
    assert new["m.room.name"] == 8
    assert sorted([new["org.example.a"], new["org.example.b"]]) == [
        FIRST_DYNAMIC_TYPE_NID,
        FIRST_DYNAMIC_TYPE_NID + 1,
    ]
    assert get_or_create_type_nids_txn(conn, ["org.example.a"]) == {
        "org.example.a": new["org.example.a"]
    }
    assert lookup_type_nids_txn(conn, ["org.example.b", "unknown"]) == {
        "org.example.b": new["org.example.b"]
    }
    assert type_names_txn(conn, [EventTypeNID(1), new["org.example.a"]]) == {
        1: "m.room.create",
        new["org.example.a"]: "org.example.a",
    }
    users = [f"@user{n}:test" for n in range(3000)]
    nids = get_or_create_state_key_nids_txn(conn, ["", *users])
    assert nids[""] == EMPTY_STATE_KEY_NID and len(set(nids.values())) == 3001
    assert lookup_state_key_nids_txn(conn, users) == {u: nids[u] for u in users}
    assert state_keys_txn(conn, [nids["@user7:test"]]) == {nids["@user7:test"]: "@user7:test"}


def test_room_and_event_nids_in_bulk(conn: sqlite3.Connection) -> None:
    room = get_or_create_room_nid_txn(conn, "!r:test", "11")
    assert get_or_create_room_nid_txn(conn, "!r:test", "11") == room
    with pytest.raises(RoomVersionMismatch):
        get_or_create_room_nid_txn(conn, "!r:test", "10")
    info = room_info_txn(conn, "!r:test")
    assert info is not None and (info.room_nid, info.current_snapshot_nid) == (room, None)
    assert room_info_txn(conn, "!nope:test") is None
    ids = [f"$event{n}" for n in range(40_000)]  # more than SQLite's variable limit
    nids = get_or_create_event_nids_txn(conn, room, ids)
    assert len(set(nids.values())) == 40_000 and 0 not in nids.values()
    assert lookup_event_nids_txn(conn, [*ids, "$unknown"]) == nids
    assert event_ids_txn(conn, [nids[i] for i in ids[:5]]) == {nids[i]: i for i in ids[:5]}
    assert stored_event_nids_txn(conn, nids.values()) == set()


def test_storing_an_event_twice_changes_nothing(conn: sqlite3.Connection) -> None:
    room = RoomBuilder(conn)
    room.send("m.room.create", "", {})
    event_id, first = room.send("m.room.message", None, {"body": "x"})
    again = store_event_txn(conn, outlier(room.room_nid, event_id, []))
    assert again.already_stored and again.event_nid == first.event_nid
    assert again.stream_ordering == first.stream_ordering == 2
    stored = get_events_txn(conn, [first.event_nid])[first.event_nid]
    assert not stored.is_outlier and stored.state_before == stored.state_after
    assert stored.state_key_nid == 0 and stored.type_nid == WELL_KNOWN_TYPE_NIDS["m.room.message"]


def test_only_visible_events_get_stream_positions(conn: sqlite3.Connection) -> None:
    room = RoomBuilder(conn)
    room.send("m.room.create", "", {})
    assert latest_stream_position_txn(conn) == 1
    for n, flags in enumerate([{}, {"rejected_reason": "auth"}]):
        result = store_event_txn(conn, outlier(room.room_nid, f"$out{n}", [], **flags))
        assert result.stream_ordering is None
    assert latest_stream_position_txn(conn) == 1
    _, message = room.send("m.room.message", None, {})
    assert message.stream_ordering == 2
    info = room_info_txn(conn, room.room_id)
    assert info is not None and info.last_stream_ordering == 2
    with pytest.raises(sqlite3.IntegrityError):  # a non-outlier needs its state
        store_event_txn(conn, outlier(room.room_nid, "$nostate", [], is_outlier=False))


def test_auth_chain(conn: sqlite3.Connection) -> None:
    room = get_or_create_room_nid_txn(conn, "!r:test", "11")
    # create <- power <- alice; bob's join is authorized by all three; "$gone" is not stored.
    graph = {
        "$create": [],
        "$power": ["$create"],
        "$alice": ["$create", "$power"],
        "$bob": ["$create", "$power", "$alice", "$gone"],
        "$topic": ["$create", "$power", "$alice"],
    }
    for event_id, auth in graph.items():
        store_event_txn(conn, outlier(room, event_id, auth))
    nids = lookup_event_nids_txn(conn, [*graph, "$gone"])
    chain = auth_chain_txn(conn, [nids["$bob"], nids["$topic"]])
    assert chain == {nids[e] for e in ("$create", "$power", "$alice", "$gone")}
    assert auth_chain_txn(conn, [nids["$create"]]) == set()
    assert auth_chain_ids_txn(conn, ["$bob"]) == ["$alice", "$create", "$power"]
    assert stored_event_nids_txn(conn, chain) == chain - {nids["$gone"]}
    assert sorted(auth_event_nids_txn(conn, [nids["$power"]])[nids["$power"]]) == [nids["$create"]]


def test_forward_extremities(conn: sqlite3.Connection) -> None:
    room = RoomBuilder(conn)
    room.send("m.room.create", "", {})
    first, a = room.send("m.room.message", None, {})
    assert forward_extremities_txn(conn, room.room_nid) == [a.event_nid]
    # A fork: two events on top of the same parent.
    room.last = [first]
    _, b = room.send("m.room.message", None, {})
    room.last = [first]
    _, c = room.send("m.room.message", None, {})
    assert forward_extremities_txn(conn, room.room_nid) == sorted([b.event_nid, c.event_nid])
    assert prev_event_nids_txn(conn, [b.event_nid]) == {b.event_nid: [a.event_nid]}
    # An event arriving after its successor does not become an extremity again.
    assert add_forward_extremity_txn(conn, room.room_nid, a.event_nid) == sorted(
        [b.event_nid, c.event_nid]
    )
    set_forward_extremities_txn(conn, room.room_nid, [EventNID(c.event_nid)])
    assert forward_extremities_txn(conn, room.room_nid) == [c.event_nid]
    set_redacted_by_txn(conn, a.event_nid, c.event_nid)
    assert get_events_txn(conn, [a.event_nid])[a.event_nid].redacted_by == c.event_nid
    assert count(conn, "event_edges") == 3
