"""Reading power levels and creators (:mod:`trioserver.protocol.power_levels`)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioserver.protocol.power_levels import (
    CREATOR_LEVEL,
    InvalidPowerLevels,
    PowerLevels,
    check_power_levels_content,
    creators,
    parse_power_level,
    required_level_for_event,
    user_power_level,
)
from trioserver.protocol.room_versions import room_version

VERSIONS = [str(n) for n in range(1, 13)]
ALICE, BOB, ERIN = "@alice:a", "@bob:b", "@erin:e"


def _create(version: str, **content: Any) -> dict[str, Any]:
    return {"type": "m.room.create", "state_key": "", "sender": ALICE, "content": content}


def _pl(**content: Any) -> dict[str, Any]:
    return {"type": "m.room.power_levels", "state_key": "", "sender": ALICE, "content": content}


@pytest.mark.parametrize(
    ("value", "accepted_until"),
    [
        (50, 12),
        (-7, 12),
        ("50", 9),
        (" +100 ", 9),
        ("-0010", 9),
        ("\t42\n", 9),
        (50.9, 5),
        (-2.5, 5),
        (True, 0),
        (None, 0),
        ("5.0", 0),
        ("1e3", 0),
        ("", 0),
        ("1_000", 0),
        ("\u0661\u0660", 0),  # Arabic-Indic digits: not base 10 ASCII
        (math.inf, 0),
        (math.nan, 0),
        ([50], 0),
    ],
)
def test_parse_power_level_per_version(value: Any, accepted_until: int) -> None:
    for v in VERSIONS:
        parsed = parse_power_level(value, v)
        assert (parsed is not None) == (int(v) <= accepted_until), (v, value)
    if accepted_until:
        expected = int(value.strip()) if isinstance(value, str) else int(value)
        assert parse_power_level(value, "1") == expected


@given(st.integers(min_value=-(10**6), max_value=10**6), st.sampled_from(["", " ", "\t"]))
def test_string_levels_round_trip(level: int, pad: str) -> None:
    assert parse_power_level(f"{pad}{level}{pad}", "9") == level
    assert parse_power_level(f"{pad}{level}{pad}", "10") is None
    assert parse_power_level(level, "12") == level


def test_defaults() -> None:
    levels = PowerLevels.from_event(None, "11")
    assert (levels.users_default, levels.events_default, levels.state_default) == (0, 0, 50)
    assert (levels.ban, levels.kick, levels.redact, levels.invite) == (50, 50, 50, 0)
    assert levels.notification_level("room") == 50
    assert levels.required_level("m.room.message", is_state=False) == 0
    assert levels.required_level("m.room.name", is_state=True) == 50


def test_from_content_reads_valid_values_and_defaults_the_rest() -> None:
    content = {
        "ban": "75",
        "kick": "much",
        "users": {BOB: "20", "@x:y": [1]},
        "events": {"m.room.name": 10, "m.room.topic": "30"},
        "notifications": {"room": 20},
        "users_default": 5,
    }
    old = PowerLevels.from_content(content, "9")
    assert (old.ban, old.kick) == (75, 50)
    assert old.users == {BOB: 20}
    assert old.required_level("m.room.topic", is_state=True) == 30
    assert old.notification_level("room") == 20
    new = PowerLevels.from_content(content, "10")
    assert new.ban == 50
    assert new.users == {}
    assert new.required_level("m.room.topic", is_state=True) == 50
    assert new.required_level("m.room.name", is_state=True) == 10


@pytest.mark.parametrize("version", VERSIONS)
def test_creators(version: str) -> None:
    rv = room_version(version)
    create = _create(version, creator=BOB, additional_creators=[ERIN, 7])
    expected = {ALICE} if rv.implicit_room_creator else {BOB}
    if rv.privileged_creators:
        expected.add(ERIN)
    assert creators(create, version) == expected
    assert creators(_create(version), version) == ({ALICE} if rv.implicit_room_creator else set())


@pytest.mark.parametrize("version", VERSIONS)
def test_user_power_level(version: str) -> None:
    rv = room_version(version)
    create = _create(version, creator=ALICE, additional_creators=[ERIN])
    # No power levels event: creators 100 (v12: infinite), others 0.
    assert user_power_level(ALICE, None, create, version) == (
        CREATOR_LEVEL if rv.privileged_creators else 100
    )
    assert user_power_level(BOB, None, create, version) == 0
    assert user_power_level(ERIN, None, create, version) == (
        CREATOR_LEVEL if rv.privileged_creators else 0
    )
    # With one: users, then users_default; creators keep infinite power in v12.
    pl = _pl(users={BOB: 40}, users_default=3)
    assert user_power_level(BOB, pl, create, version) == 40
    assert user_power_level("@zed:z", pl, create, version) == 3
    assert user_power_level(ALICE, pl, create, version) == (
        CREATOR_LEVEL if rv.privileged_creators else 3
    )


def test_required_level_for_event() -> None:
    pl = _pl(events={"m.room.message": 5}, state_default=40)
    assert required_level_for_event({"type": "m.room.message"}, pl, "11") == 5
    assert required_level_for_event({"type": "m.room.name", "state_key": ""}, pl, "11") == 40
    assert required_level_for_event({"type": "m.custom"}, None, "11") == 0
    assert required_level_for_event({"type": "m.custom", "state_key": ""}, None, "11") == 50


@pytest.mark.parametrize(
    ("content", "rule", "from_version"),
    [
        ({"users": {BOB: 10}}, None, None),
        ({"users": {"bob": 10}}, "users", 1),
        ({"users": [BOB]}, "users", 1),
        ({"users": {BOB: "10"}}, "users", 10),
        ({"users": {BOB: 1.5}}, "users", 6),
        ({"ban": "50"}, "levels", 10),
        ({"ban": None}, "levels", 10),
        ({"events": {"m.room.name": "1"}}, "maps", 10),
        ({"events": []}, "maps", 10),
        ({"notifications": {"room": "1"}}, "maps", 10),
    ],
)
def test_check_power_levels_content(
    content: Any, rule: str | None, from_version: int | None
) -> None:
    for v in VERSIONS:
        if from_version is None or int(v) < from_version:
            check_power_levels_content(content, v)
        else:
            with pytest.raises(InvalidPowerLevels) as caught:
                check_power_levels_content(content, v)
            assert caught.value.rule == rule
