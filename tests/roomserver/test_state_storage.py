"""State snapshots in SQLite: block sharing, the block cap, current state and memberships."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from tests.roomserver.storage_helpers import RoomBuilder, count, open_test_db
from trioserver.db import Database, prepare_database
from trioserver.db.roomserver_current import (
    current_state_txn,
    member_nids_txn,
    members_txn,
    membership_txn,
    rooms_for_user_txn,
    servers_in_room_txn,
)
from trioserver.db.roomserver_events import get_events_by_id_txn
from trioserver.db.roomserver_nids import (
    get_or_create_state_key_nid_txn,
    lookup_event_nids_txn,
    room_info_txn,
)
from trioserver.db.roomserver_state import (
    load_blocks_txn,
    load_state_txn,
    load_states_txn,
    state_at_event_txn,
    state_ids_at_event_txn,
    store_block_txn,
    store_snapshot_txn,
)
from trioserver.roomserver.state_storage import (
    set_current_state_txn,
    store_state_changes_txn,
    store_state_txn,
)
from trioserver.roomserver.types import (
    CREATE_NID,
    EMPTY_STATE_KEY_NID,
    MAX_BLOCKS_PER_SNAPSHOT,
    MEMBER_NID,
    NO_EVENT,
    EventNID,
    NewBlock,
    StateEntry,
)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with open_test_db(tmp_path / "test.db") as conn:
        yield conn


def big_room(conn: sqlite3.Connection, members: int) -> RoomBuilder:
    room = RoomBuilder(conn)
    room.send("m.room.create", "", {"room_version": "11", "creator": "@alice:test"})
    room.member("@alice:test")
    room.send("m.room.power_levels", "", {"users": {"@alice:test": 100}})
    room.send("m.room.join_rules", "", {"join_rule": "public"})
    for n in range(members - 1):
        room.member(f"@u{n}:server{n % 7}.test")
    return room


def test_messages_in_a_big_room_add_no_state_rows(conn: sqlite3.Connection) -> None:
    room = big_room(conn, 1000)
    blocks, entries, snapshots = (
        count(conn, "state_blocks"),
        count(conn, "state_block_entries"),
        count(conn, "state_snapshots"),
    )
    for n in range(1000):
        room.send("m.room.message", None, {"body": f"hello {n}"})
    assert count(conn, "state_blocks") == blocks
    assert count(conn, "state_block_entries") == entries
    assert count(conn, "state_snapshots") == snapshots
    assert count(conn, "events") == 1003 + 1000


def test_a_membership_change_adds_one_small_block(conn: sqlite3.Connection) -> None:
    room = big_room(conn, 1000)
    assert room.snapshot is not None
    before_blocks = load_blocks_txn(conn, room.snapshot)
    blocks, entries = count(conn, "state_blocks"), count(conn, "state_block_entries")

    room.member("@u5:server5.test", "leave")

    assert count(conn, "state_blocks") == blocks + 1
    assert count(conn, "state_block_entries") == entries + 1
    after_blocks = load_blocks_txn(conn, room.snapshot)
    assert [b.block_nid for b in after_blocks[:-1]] == [b.block_nid for b in before_blocks]
    assert len(load_state_txn(conn, room.snapshot)) == 3 + 1000


def test_state_snapshots_never_exceed_the_block_cap(conn: sqlite3.Connection) -> None:
    room = big_room(conn, 20)
    for n in range(300):
        room.send("m.room.topic", "", {"topic": f"topic {n}"})
        room.member(f"@u{n % 19}:server{n % 19 % 7}.test", "leave" if n % 2 else "join")
    worst = conn.execute(
        "SELECT max(c) FROM (SELECT count(*) AS c FROM state_snapshot_blocks GROUP BY snapshot_nid)"
    ).fetchone()[0]
    assert worst == MAX_BLOCKS_PER_SNAPSHOT
    assert room.snapshot is not None
    state = load_state_txn(conn, room.snapshot)
    assert state == current_state_txn(conn, room.room_nid)
    assert len(state) == 3 + 20 + 1  # create, power levels, join rules, members, topic


def test_identical_blocks_and_snapshots_are_stored_once(conn: sqlite3.Connection) -> None:
    room = big_room(conn, 3)
    entries = [StateEntry(CREATE_NID, EMPTY_STATE_KEY_NID, EventNID(1))]
    first = store_block_txn(conn, room.room_nid, entries)
    assert store_block_txn(conn, room.room_nid, list(reversed(entries))) == first
    snapshot = store_snapshot_txn(conn, room.room_nid, (first,))
    assert store_snapshot_txn(conn, room.room_nid, (NewBlock(tuple(entries)),)) == snapshot
    with pytest.raises(ValueError, match="at most once"):
        store_block_txn(conn, room.room_nid, entries * 2)


def test_a_stored_state_shares_the_blocks_of_its_base(conn: sqlite3.Connection) -> None:
    room = big_room(conn, 50)
    assert room.snapshot is not None
    state = load_state_txn(conn, room.snapshot)
    assert store_state_txn(conn, room.room_nid, state, room.snapshot) == room.snapshot
    bob = get_or_create_state_key_nid_txn(conn, "@u3:server3.test")
    del state[(MEMBER_NID, bob)]
    entries = count(conn, "state_block_entries")
    resolved = store_state_txn(conn, room.room_nid, state, room.snapshot)
    assert count(conn, "state_block_entries") == entries + 1  # one tombstone
    assert load_state_txn(conn, resolved) == state
    both = load_states_txn(conn, [room.snapshot, resolved])
    assert both[resolved] == state and len(both[room.snapshot]) == len(state) + 1
    assert store_state_changes_txn(conn, room.room_nid, resolved, {}) == resolved


def test_state_before_and_after_an_event(conn: sqlite3.Connection) -> None:
    room = big_room(conn, 2)
    topic_id, topic = room.send("m.room.topic", "", {"topic": "hi"})
    before = state_at_event_txn(conn, topic.event_nid)
    after = state_at_event_txn(conn, topic.event_nid, after=True)
    assert before is not None and after is not None
    assert set(after.items()) - set(before.items()) == {((9, EMPTY_STATE_KEY_NID), topic.event_nid)}
    ids = state_ids_at_event_txn(conn, topic_id)
    assert ids is not None and len(ids) == 5 and topic_id not in ids
    assert state_ids_at_event_txn(conn, "$unknown") is None


def test_current_state_and_memberships_follow_changes(conn: sqlite3.Connection) -> None:
    room = big_room(conn, 3)  # alice, @u0:server0.test, @u1:server1.test
    assert members_txn(conn, room.room_id) == [
        "@alice:test",
        "@u0:server0.test",
        "@u1:server1.test",
    ]
    assert servers_in_room_txn(conn, room.room_id) == {"test", "server0.test", "server1.test"}
    room.member("@u1:server1.test", "leave")
    room.member("@bob:other.test:8448", "invite")
    assert members_txn(conn, room.room_id) == ["@alice:test", "@u0:server0.test"]
    assert members_txn(conn, room.room_id, "invite") == ["@bob:other.test:8448"]
    assert servers_in_room_txn(conn, room.room_id) == {"test", "server0.test"}
    assert membership_txn(conn, room.room_id, "@u1:server1.test") == "leave"
    assert membership_txn(conn, room.room_id, "@nobody:test") is None
    assert rooms_for_user_txn(conn, "@u1:server1.test") == {room.room_id: "leave"}
    assert rooms_for_user_txn(conn, "@u1:server1.test", ["join"]) == {}

    room.member("@bob:other.test:8448", "join")
    assert "other.test:8448" in servers_in_room_txn(conn, room.room_id)
    assert len(member_nids_txn(conn, room.room_nid)) == 3

    # A state reset that removes bob's membership from the current state.
    assert room.snapshot is not None
    bob = get_or_create_state_key_nid_txn(conn, "@bob:other.test:8448")
    bob_event = current_state_txn(conn, room.room_nid)[(MEMBER_NID, bob)]
    reset = store_state_changes_txn(
        conn, room.room_nid, room.snapshot, {(MEMBER_NID, bob): NO_EVENT}
    )
    delta = set_current_state_txn(conn, room.room_nid, reset)
    assert delta.removed == {(MEMBER_NID, bob): bob_event} and not delta.added
    assert rooms_for_user_txn(conn, "@bob:other.test:8448") == {}
    assert (MEMBER_NID, bob) not in current_state_txn(conn, room.room_nid)
    info = room_info_txn(conn, room.room_id)
    assert info is not None and info.current_snapshot_nid == reset
    assert not set_current_state_txn(conn, room.room_nid, reset)


def test_current_state_matches_the_snapshot_in_two_rooms(conn: sqlite3.Connection) -> None:
    rooms = [RoomBuilder(conn, "!a:test"), RoomBuilder(conn, "!b:test")]
    for room in rooms:
        room.send("m.room.create", "", {})
        room.member("@alice:test")
    rooms[1].member("@bob:test")
    assert rooms_for_user_txn(conn, "@alice:test") == {"!a:test": "join", "!b:test": "join"}
    for room in rooms:
        assert room.snapshot is not None
        assert current_state_txn(conn, room.room_nid) == load_state_txn(conn, room.snapshot)
    assert current_state_txn(conn, rooms[0].room_nid, [CREATE_NID]).keys() == {
        (CREATE_NID, EMPTY_STATE_KEY_NID)
    }


async def test_through_the_database(tmp_path: Path) -> None:
    path = str(tmp_path / "server.db")
    database = Database(path)
    prepare_database(database.writer_connection)

    def build(conn: sqlite3.Connection) -> str:
        room = big_room(conn, 10)
        event_id, _ = room.send("m.room.message", None, {"body": "hi"})
        return event_id

    async with trio.open_nursery() as nursery:
        await nursery.start(database.run_writer)
        event_id = await database.run_write(build)
        members = await database.run_read(members_txn, "!room:test")
        events = await database.run_read(get_events_by_id_txn, [event_id, "$missing"])
        nids = await database.run_read(lookup_event_nids_txn, [event_id])
        await database.aclose()
    assert len(members) == 10
    assert list(events) == [event_id]
    assert events[event_id].stream_ordering == 14
    assert events[event_id].event_nid == nids[event_id]
