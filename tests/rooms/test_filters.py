"""RoomEventFilter / EventFilter parsing and matching (spec: "Filtering")."""

from __future__ import annotations

from typing import Any

import pytest

from trioserver.rooms.filters import (
    EventFilter,
    FilterError,
    RoomEventFilter,
    parse_event_filter,
    parse_room_event_filter,
    parse_room_event_filter_json,
    type_matches,
)


def ev(
    event_type: str = "m.room.message",
    sender: str = "@a:x",
    room_id: str | None = "!r:x",
    content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {"type": event_type, "sender": sender, "content": content or {}}
    if room_id is not None:
        event["room_id"] = room_id
    return event


@pytest.mark.parametrize(
    ("event_type", "patterns", "expected"),
    [
        ("m.room.message", ["m.room.message"], True),
        ("m.room.message", ["m.room.*"], True),
        ("m.room.message", ["*"], True),
        ("m.room.message", ["m.*.message"], True),
        ("m.room.message", ["m.room"], False),
        ("m.room.message", ["m.room.message.x"], False),
        ("m.room.message", [], False),
        ("m.roomXmessage", ["m.room.message"], False),  # '.' is no wildcard
        ("m.room.message", ["m.room.?essage"], False),  # '?' is no wildcard
        ("a[b]c", ["a[b]c"], True),
        ("line\nbreak", ["line*"], True),
    ],
)
def test_type_wildcards(event_type: str, patterns: list[str], expected: bool) -> None:
    assert type_matches(event_type, patterns) is expected


def test_empty_filter_matches_everything() -> None:
    f = parse_room_event_filter({})
    assert f == RoomEventFilter()
    assert not f.filters_events
    assert f.matches(ev())
    assert f.matches({})
    assert parse_room_event_filter(None) == RoomEventFilter()
    assert parse_room_event_filter_json(None) == RoomEventFilter()
    assert parse_room_event_filter_json("  ") == RoomEventFilter()


def test_types_and_not_types() -> None:
    f = parse_room_event_filter({"types": ["m.room.*"], "not_types": ["m.room.member"]})
    assert f.filters_events
    assert f.matches(ev("m.room.message"))
    assert not f.matches(ev("m.room.member"))  # not_types wins
    assert not f.matches(ev("m.reaction"))
    assert not parse_room_event_filter({"types": []}).matches(ev())  # empty list: none


def test_senders_and_not_senders() -> None:
    f = parse_room_event_filter({"senders": ["@a:x", "@b:x"], "not_senders": ["@b:x"]})
    assert f.matches(ev(sender="@a:x"))
    assert not f.matches(ev(sender="@b:x"))
    assert not f.matches(ev(sender="@c:x"))
    assert not parse_room_event_filter({"not_senders": ["@a:x"]}).matches(ev(sender="@a:x"))


def test_rooms_and_not_rooms() -> None:
    f = parse_room_event_filter({"rooms": ["!r:x", "!s:x"], "not_rooms": ["!s:x"]})
    assert f.allows_room("!r:x")
    assert not f.allows_room("!s:x")
    assert not f.allows_room("!t:x")
    assert f.matches(ev(room_id="!r:x"))
    assert not f.matches(ev(room_id="!t:x"))
    assert f.matches(ev(room_id=None))  # an event without room_id is not judged by room


def test_contains_url() -> None:
    with_url = ev(content={"url": "mxc://x/y", "body": "a"})
    without = ev(content={"body": "a"})
    yes = parse_room_event_filter({"contains_url": True})
    no = parse_room_event_filter({"contains_url": False})
    assert yes.matches(with_url) and not yes.matches(without)
    assert no.matches(without) and not no.matches(with_url)
    assert RoomEventFilter().matches(with_url) and RoomEventFilter().matches(without)


def test_flags_and_limit() -> None:
    f = parse_room_event_filter(
        {
            "lazy_load_members": True,
            "include_redundant_members": True,
            "unread_thread_notifications": True,
            "limit": 5,
            "unknown_key": {"ignored": True},
        }
    )
    assert f.lazy_load_members and f.include_redundant_members and f.unread_thread_notifications
    assert f.limit == 5
    assert not f.filters_events


def test_event_filter() -> None:
    f = parse_event_filter({"types": ["m.presence"], "not_senders": ["@x:y"], "limit": 3})
    assert isinstance(f, EventFilter)
    assert f.matches({"type": "m.presence", "sender": "@a:b"})
    assert not f.matches({"type": "m.presence", "sender": "@x:y"})
    assert not f.matches({"type": "m.other", "sender": "@a:b"})
    assert f.limit == 3


@pytest.mark.parametrize(
    "raw",
    [
        [],
        "x",
        {"types": "m.room.message"},
        {"types": [1]},
        {"not_types": [None]},
        {"senders": {"@a:x": 1}},
        {"not_senders": "x"},
        {"rooms": [True]},
        {"not_rooms": 3},
        {"contains_url": "yes"},
        {"lazy_load_members": 1},
        {"include_redundant_members": "true"},
        {"limit": 0},
        {"limit": -1},
        {"limit": True},
        {"limit": 1.5},
        {"limit": "10"},
    ],
)
def test_malformed_filters(raw: Any) -> None:
    with pytest.raises(FilterError):
        parse_room_event_filter(raw)


@pytest.mark.parametrize("text", ["{", "[1]", "nope", "NaN", '{"types": [1]}', "1" * 10 + "x"])
def test_malformed_filter_text(text: str) -> None:
    with pytest.raises(FilterError):
        parse_room_event_filter_json(text)


def test_filter_text() -> None:
    f = parse_room_event_filter_json('{"types": ["m.room.message"], "lazy_load_members": true}')
    assert f.types == ("m.room.message",)
    assert f.lazy_load_members


def test_deep_json_is_an_error_not_a_crash() -> None:
    with pytest.raises(FilterError):
        parse_room_event_filter_json("[" * 100000 + "]" * 100000)
