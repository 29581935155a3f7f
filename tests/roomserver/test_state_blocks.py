"""The pure state-block planner: table cases plus hypothesis properties."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from trioserver.roomserver.state_blocks import (
    StateChanges,
    StateDelta,
    apply_changes,
    changes_for,
    diff_states,
    entries_of,
    flatten,
    plan_snapshot,
)
from trioserver.roomserver.types import (
    NO_EVENT,
    EventNID,
    EventTypeNID,
    LoadedBlock,
    NewBlock,
    SnapshotLayout,
    StateBlockNID,
    StateKeyNID,
    StateKeyTuple,
)


def key(t: int, k: int) -> StateKeyTuple:
    return (EventTypeNID(t), StateKeyNID(k))


class FakeStore:
    """Blocks by NID, as the database would keep them."""

    def __init__(self) -> None:
        self.blocks: dict[StateBlockNID, dict[StateKeyTuple, EventNID]] = {}

    def store(self, layout: SnapshotLayout) -> list[LoadedBlock]:
        loaded = []
        for item in layout:
            if isinstance(item, NewBlock):
                nid = StateBlockNID(len(self.blocks) + 1)
                self.blocks[nid] = {
                    (e.type_nid, e.state_key_nid): e.event_nid for e in item.entries
                }
            else:
                nid = item
            loaded.append(LoadedBlock(nid, self.blocks[nid]))
        return loaded


def test_a_first_snapshot_is_one_block_without_tombstones() -> None:
    layout = plan_snapshot([], {key(1, 1): EventNID(10), key(5, 2): NO_EVENT})
    assert len(layout) == 1
    assert isinstance(layout[0], NewBlock)
    assert [tuple(e) for e in layout[0].entries] == [(1, 1, 10)]


def test_an_empty_change_reuses_the_previous_layout() -> None:
    prev = [LoadedBlock(StateBlockNID(7), {key(1, 1): EventNID(10)})]
    assert plan_snapshot(prev, {}) == (7,)
    assert plan_snapshot(prev, {key(1, 1): EventNID(10), key(2, 1): NO_EVENT}) == (7,)


def test_a_change_adds_one_block_of_only_the_change() -> None:
    members = {key(5, k): EventNID(100 + k) for k in range(1000)}
    prev = [LoadedBlock(StateBlockNID(1), members)]
    layout = plan_snapshot(prev, {key(5, 3): EventNID(5000)})
    assert layout[0] == 1
    new = layout[1]
    assert isinstance(new, NewBlock)
    assert [tuple(e) for e in new.entries] == [(5, 3, 5000)]


def test_a_removal_is_a_tombstone_over_the_older_block() -> None:
    prev = [LoadedBlock(StateBlockNID(1), {key(1, 1): EventNID(1), key(9, 1): EventNID(2)})]
    layout = plan_snapshot(prev, {key(9, 1): NO_EVENT})
    assert isinstance(layout[1], NewBlock)
    assert [tuple(e) for e in layout[1].entries] == [(9, 1, 0)]
    store = FakeStore()
    store.blocks[StateBlockNID(1)] = prev[0].entries
    assert flatten(b.entries for b in store.store(layout)) == {key(1, 1): EventNID(1)}


def test_compaction_keeps_the_big_base_block() -> None:
    store = FakeStore()
    base = {key(5, k): EventNID(k + 1) for k in range(1000)}
    blocks = store.store((NewBlock(entries_of(base)),))
    for n in range(500):
        blocks = store.store(plan_snapshot(blocks, {key(5, n % 50): EventNID(2000 + n)}))
        assert len(blocks) <= 64
        assert blocks[0].block_nid == 1, "the 1,000-entry base block is never rewritten"
    rows = sum(len(b) for b in store.blocks.values())
    assert rows < 1000 + 500 * 8, "compaction costs a few rows per change, not the whole state"


def test_diff_and_changes_round_trip() -> None:
    old = {key(1, 1): EventNID(1), key(2, 1): EventNID(2), key(3, 1): EventNID(3)}
    new = {key(1, 1): EventNID(1), key(2, 1): EventNID(20), key(4, 1): EventNID(4)}
    delta = diff_states(old, new)
    assert delta == StateDelta(
        added={key(2, 1): EventNID(20), key(4, 1): EventNID(4)},
        removed={key(2, 1): EventNID(2), key(3, 1): EventNID(3)},
    )
    assert apply_changes(old, changes_for(delta)) == new
    assert not diff_states(new, new)


keys = st.tuples(st.integers(1, 4), st.integers(1, 12)).map(lambda p: key(*p))
events = st.integers(0, 30).map(EventNID)  # 0: removal
change_sets = st.dictionaries(keys, events, max_size=10)


@settings(max_examples=200, deadline=None)
@given(history=st.lists(change_sets, max_size=60), max_blocks=st.sampled_from([1, 2, 3, 5, 64]))
def test_planned_snapshots_stand_for_the_changed_state(
    history: Sequence[StateChanges], max_blocks: int
) -> None:
    store = FakeStore()
    blocks: list[LoadedBlock] = []
    expected: dict[StateKeyTuple, EventNID] = {}
    for changes in history:
        layout = plan_snapshot(blocks, changes, max_blocks=max_blocks)
        new_blocks = [item for item in layout if isinstance(item, NewBlock)]
        assert len(new_blocks) <= 1
        assert not new_blocks or isinstance(layout[-1], NewBlock)
        assert len(layout) <= max_blocks
        previous_nids = [b.block_nid for b in blocks]
        reused = [item for item in layout if not isinstance(item, NewBlock)]
        assert reused == previous_nids[: len(reused)], "reused blocks keep their order"
        if len(blocks) < max_blocks:
            assert reused == previous_nids, "without compaction every block is reused"
        for block in new_blocks:
            pairs = [(e.type_nid, e.state_key_nid) for e in block.entries]
            assert pairs == sorted(set(pairs))
        blocks = store.store(layout)
        expected = apply_changes(expected, changes)
        assert flatten(b.entries for b in blocks) == expected
        if not blocks or len(blocks) == 1:
            assert all(e != NO_EVENT for b in blocks for e in b.entries.values())


@given(
    old=st.dictionaries(keys, events.filter(bool)), new=st.dictionaries(keys, events.filter(bool))
)
def test_diff_states_properties(
    old: dict[StateKeyTuple, EventNID], new: dict[StateKeyTuple, EventNID]
) -> None:
    delta = diff_states(old, new)
    assert apply_changes(old, changes_for(delta)) == new
    assert all(new[k] == e for k, e in delta.added.items())
    assert all(old[k] == e for k, e in delta.removed.items())
