"""The space-tree walk behind /hierarchy: order, loops, depth, pagination."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioserver.directory.hierarchy import Child, Walk, child_of, order_children, valid_order
from trioserver.protocol.errors import MatrixError


def child(room_id: str, order: str | None = None, ts: int = 0, suggested: bool = False) -> Child:
    return Child(room_id, order, ts, suggested, {})


def test_the_spec_example_order() -> None:
    # content/client-server-api/modules/spaces.md, "Ordering of children within a space"
    children = [
        child("!b:example.org", " ", 1640341000000),
        child("!a:example.org", "aaaa", 1640141000000),
        child("!c:example.org", "first", 1640841000000),
        child("!e:example.org", None, 1640641000000),
        child("!d:example.org", None, 1640741000000),
    ]
    assert [c.room_id for c in order_children(children)] == [
        "!b:example.org",
        "!a:example.org",
        "!c:example.org",
        "!e:example.org",
        "!d:example.org",
    ]


def test_invalid_orders_and_children() -> None:
    assert valid_order("x" * 50) == "x" * 50
    assert valid_order("x" * 51) is None
    assert valid_order("\x1f") is None
    assert valid_order("é") is None
    assert valid_order(3) is None
    base = {"type": "m.space.child", "state_key": "!r:x", "origin_server_ts": 5}
    assert child_of({**base, "content": {"via": ["x"]}}) is not None
    assert child_of({**base, "content": {"via": []}}) is None
    assert child_of({**base, "content": {"via": [1]}}) is None
    assert child_of({**base, "content": {}}) is None
    assert child_of({**base, "state_key": "", "content": {"via": ["x"]}}) is None


Graph = dict[str, list[str]]

graphs = st.dictionaries(
    st.sampled_from([f"!{c}:x" for c in "abcdefgh"]),
    st.lists(st.sampled_from([f"!{c}:x" for c in "abcdefgh"]), max_size=4, unique=True),
    max_size=8,
)


def run(graph: Graph, max_depth: int, page: int) -> list[tuple[str, int]]:
    """Every visited (room, depth), walking from !a:x with pages of ``page``."""
    walk = Walk.start("!a:x", suggested_only=False, max_depth=max_depth)
    out: list[tuple[str, int]] = []
    while True:
        for _ in range(page):
            step = walk.next_room()
            if step is None:
                return out
            out.append(step)
            children = walk.children_to_show([child(r) for r in graph.get(step[0], [])])
            walk.descend(step[1], children)
        if walk.done:
            return out
        walk = Walk.resume(walk.token(), "!a:x", suggested_only=False, max_depth=max_depth)


@given(graphs, st.integers(0, 4), st.integers(1, 5))
def test_pages_give_the_same_walk_as_one_page(graph: Graph, max_depth: int, page: int) -> None:
    assert run(graph, max_depth, page) == run(graph, max_depth, 100)


@given(graphs, st.integers(0, 4))
def test_each_room_once_and_every_child_above_max_depth(graph: Graph, max_depth: int) -> None:
    visited = run(graph, max_depth, 100)
    rooms = [room for room, _ in visited]
    assert rooms[0] == "!a:x"
    assert len(rooms) == len(set(rooms)), "loops are broken"
    assert all(depth <= max_depth for _, depth in visited)
    # The children of every room visited above max_depth are visited too.
    for room, depth in visited:
        if depth < max_depth:
            assert set(graph.get(room, [])) <= set(rooms)


def test_tokens_are_bound_to_their_request() -> None:
    walk = Walk.start("!a:x", suggested_only=False, max_depth=3)
    token = walk.token()
    with pytest.raises(MatrixError):
        Walk.resume(token, "!b:x", suggested_only=False, max_depth=3)
    with pytest.raises(MatrixError):
        Walk.resume(token, "!a:x", suggested_only=True, max_depth=3)
    with pytest.raises(MatrixError):
        Walk.resume("%%%", "!a:x", suggested_only=False, max_depth=3)
    assert Walk.resume(token, "!a:x", suggested_only=False, max_depth=3).stack == [("!a:x", 0)]
