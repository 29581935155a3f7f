"""The history visibility rules (spec: "Room History Visibility")."""

from __future__ import annotations

from typing import Any

import pytest

from trioserver.rooms.visibility import filter_visible, may_see_event

ME = "@me:x"


def see(
    visibility: str,
    at: str | None,
    now: str | None,
    *,
    event_type: str = "m.room.message",
    state_key: str | None = None,
    content: dict[str, Any] | None = None,
) -> bool:
    return may_see_event(
        ME,
        history_visibility=visibility,
        membership_at_event=at,
        membership_now=now,
        event_type=event_type,
        state_key=state_key,
        sender="@other:x",
        content=content,
    )


@pytest.mark.parametrize(
    ("visibility", "at", "now", "expected"),
    [
        ("world_readable", None, None, True),
        ("world_readable", "ban", "ban", True),
        ("shared", "join", "leave", True),
        ("shared", None, "join", True),
        ("shared", None, "leave", False),
        ("shared", "invite", None, False),
        ("invited", "invite", None, True),
        ("invited", None, "join", False),
        ("invited", "join", None, True),
        ("joined", "join", "leave", True),
        ("joined", "invite", "join", False),
        ("joined", None, "join", False),
        ("joined", "leave", "join", False),
        ("nonsense", None, "join", True),  # unknown values mean shared
        ("nonsense", None, None, False),
    ],
)
def test_rules(visibility: str, at: str | None, now: str | None, expected: bool) -> None:
    assert see(visibility, at, now) is expected


def test_own_membership_event_before_or_after() -> None:
    join = {"membership": "join"}
    assert see("joined", None, "join", event_type="m.room.member", state_key=ME, content=join)
    leave = {"membership": "leave"}
    assert see("joined", "join", "leave", event_type="m.room.member", state_key=ME, content=leave)
    # Someone else's member event gets no such favour.
    assert not see(
        "joined", None, "join", event_type="m.room.member", state_key="@o:x", content=join
    )
    # An invite under "invited" visibility: the invitee may see it.
    invite = {"membership": "invite"}
    assert see("invited", None, None, event_type="m.room.member", state_key=ME, content=invite)
    assert not see("joined", None, None, event_type="m.room.member", state_key=ME, content=invite)


def test_history_visibility_event_before_or_after() -> None:
    hv = "m.room.history_visibility"
    opened = {"history_visibility": "world_readable"}
    assert see("joined", None, None, event_type=hv, state_key="", content=opened)
    assert not see(
        "joined", None, None, event_type=hv, state_key="", content={"history_visibility": "joined"}
    )
    assert see(
        "world_readable",
        None,
        None,
        event_type=hv,
        state_key="",
        content={"history_visibility": "joined"},
    )


def test_filter_visible_keeps_order_and_hides_unknown() -> None:
    events = [
        ("$1", {"type": "m.room.message", "content": {}}),
        ("$2", {"type": "m.room.message", "content": {}}),
        ("$3", {"type": "m.room.message", "content": {}}),
        ("$outlier", {"type": "m.room.message", "content": {}}),
    ]
    facts = {
        "$1": ("joined", None, False),
        "$2": ("joined", "join", False),
        "$3": ("shared", None, False),
    }
    assert filter_visible(ME, events, facts, "join") == ["$2", "$3"]
    assert filter_visible(ME, events, facts, "leave") == ["$2"]


def test_shared_history_stays_visible_after_leaving_if_joined_later() -> None:
    """Spec rule 3: ``shared`` and the user joined at any point after the event."""
    kwargs: dict[str, Any] = {
        "history_visibility": "shared",
        "membership_at_event": None,
        "membership_now": "leave",
        "event_type": "m.room.message",
        "state_key": None,
        "sender": "@other:x",
    }
    assert may_see_event(ME, **kwargs, joined_later=True)
    assert not may_see_event(ME, **kwargs, joined_later=False)
    joined = {**kwargs, "history_visibility": "joined"}
    assert not may_see_event(ME, **joined, joined_later=True)
