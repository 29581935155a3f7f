"""State snapshots as lists of shared blocks: the pure planning logic (no I/O).

Model (ARCHITECTURE.md, "Storage"):

* A *block* maps (type NID, state key NID) to an event NID; ``0`` as the
  event is a *tombstone*: the key is removed.
* A *snapshot* is an ordered list of at most ``max_blocks`` blocks; a later
  block overrides an earlier one for the same key. Its flattened state is
  what remains after overriding, tombstones dropped.
* A new snapshot is planned from the previous snapshot's blocks and a set of
  changes. Every previous block is reused by NID and at most ONE new block
  is added, holding only the effective changes (a membership change in a
  1,000-member room adds one entry, not 1,000). No effective change: the
  previous layout comes back unchanged (the caller reuses its snapshot).
* The common case needs only the previous block NIDs and the current events
  of the changed keys (:func:`effective_changes`, :func:`append_block`);
  the full blocks are needed only for compaction (:func:`plan_snapshot`).
* When one more block would exceed ``max_blocks``, a tail of the list is
  compacted into the one new block: the tail is extended backwards while the
  block before it is at most twice the size of what has been merged so far,
  so kept blocks shrink geometrically and an entry is rewritten O(log n)
  times over a room's life. A merged block keeps only entries that differ
  from the blocks before it (a compacted base block has no tombstones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from trioserver.roomserver.types import (
    MAX_BLOCKS_PER_SNAPSHOT,
    NO_EVENT,
    EventNID,
    LoadedBlock,
    NewBlock,
    SnapshotLayout,
    StateBlockNID,
    StateEntry,
    StateKeyTuple,
    StateMap,
)

#: Changes to a state: key -> new event, or ``NO_EVENT`` to remove the key.
StateChanges = Mapping[StateKeyTuple, EventNID]


@dataclass(frozen=True, slots=True)
class StateDelta:
    """The difference between two flattened states. A replaced key is in both:
    ``removed`` holds the old event, ``added`` the new one."""

    added: StateMap = field(default_factory=dict)
    removed: StateMap = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def flatten(blocks: Iterable[Mapping[StateKeyTuple, EventNID]]) -> StateMap:
    """The state a list of blocks stands for: later blocks override earlier
    ones, tombstones removed."""
    merged: dict[StateKeyTuple, EventNID] = {}
    for block in blocks:
        merged.update(block)
    return {key: event for key, event in merged.items() if event != NO_EVENT}


def apply_changes(state: Mapping[StateKeyTuple, EventNID], changes: StateChanges) -> StateMap:
    """``state`` with ``changes`` applied (``NO_EVENT`` removes a key)."""
    result = dict(state)
    for key, event in changes.items():
        if event == NO_EVENT:
            result.pop(key, None)
        else:
            result[key] = event
    return result


def diff_states(
    old: Mapping[StateKeyTuple, EventNID], new: Mapping[StateKeyTuple, EventNID]
) -> StateDelta:
    """What turns ``old`` into ``new``: ``apply_changes(old, changes_for(delta)) == new``."""
    added: StateMap = {}
    removed: StateMap = {}
    for key, event in new.items():
        before = old.get(key, NO_EVENT)
        if before != event:
            added[key] = event
            if before != NO_EVENT:
                removed[key] = before
    for key, event in old.items():
        if key not in new:
            removed[key] = event
    return StateDelta(added, removed)


def changes_for(delta: StateDelta) -> dict[StateKeyTuple, EventNID]:
    """The changes (tombstones for removals) that apply ``delta``."""
    changes = {key: NO_EVENT for key in delta.removed}
    changes.update(delta.added)
    return changes


def entries_of(block: Mapping[StateKeyTuple, EventNID]) -> tuple[StateEntry, ...]:
    """A block's entries in their canonical order (by type, then state key)."""
    return tuple(StateEntry(t, k, block[(t, k)]) for (t, k) in sorted(block))


def effective_changes(
    before: Mapping[StateKeyTuple, EventNID], changes: StateChanges
) -> dict[StateKeyTuple, EventNID]:
    """The changes that change something: ``before`` needs to hold only the
    changed keys' current events (a partial state is enough)."""
    return {key: ev for key, ev in changes.items() if before.get(key, NO_EVENT) != ev}


def append_block(previous: Sequence[StateBlockNID], effective: StateChanges) -> SnapshotLayout:
    """The layout without compaction: every previous block, then one block of
    the ``effective`` changes (none if there are none). Only valid while
    ``len(previous) < max_blocks``; its tombstones all shadow a live entry."""
    if not effective:
        return tuple(previous)
    return (*previous, NewBlock(entries_of(effective)))


def plan_snapshot(
    previous: Sequence[LoadedBlock],
    changes: StateChanges,
    *,
    max_blocks: int = MAX_BLOCKS_PER_SNAPSHOT,
) -> SnapshotLayout:
    """The layout of the snapshot ``previous`` + ``changes``.

    Guarantees: ``flatten`` of the result equals ``apply_changes(flatten(previous),
    changes)``; the result has at most ``max_blocks`` blocks, at most one of them a
    :class:`NewBlock`, which comes last; without compaction the result starts with
    every previous block NID in order; with no effective change it is exactly the
    previous NIDs.
    """
    if max_blocks < 1:
        raise ValueError("a snapshot needs room for at least one block")
    effective = effective_changes(flatten(block.entries for block in previous), changes)
    kept = tuple(block.block_nid for block in previous)
    if len(previous) < max_blocks or not effective:
        return append_block(kept, effective)
    start = _compaction_start(previous, effective, max_blocks)
    under = flatten(block.entries for block in previous[:start])
    merged: dict[StateKeyTuple, EventNID] = {}
    for block in previous[start:]:
        merged.update(block.entries)
    merged.update(effective)
    needed = {key: ev for key, ev in merged.items() if under.get(key, NO_EVENT) != ev}
    if not needed:
        return kept[:start]
    return (*kept[:start], NewBlock(entries_of(needed)))


def _compaction_start(
    previous: Sequence[LoadedBlock], effective: StateChanges, max_blocks: int
) -> int:
    """Index of the first block merged with the changes: at least the last
    block (so the result fits), extended backwards over blocks no bigger than
    twice the merged size."""
    start = min(len(previous), max_blocks) - 1
    keys: set[StateKeyTuple] = set(effective)
    for block in previous[start:]:
        keys.update(block.entries)
    while start > 0 and len(previous[start - 1].entries) <= 2 * len(keys):
        start -= 1
        keys.update(previous[start].entries)
    return start
