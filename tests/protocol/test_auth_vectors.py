"""The gomatrixserverlib event authorisation vectors (``tests/data/event_auth``).

Every ``allowed`` event must pass :func:`check_auth` against its case's auth
state; every ``not_allowed`` one must raise :class:`AuthError`: a format
error (:class:`EventFormatError`) for the few the source marks as failing to
parse, a rule of the authorisation rules for all others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trioserver.protocol.auth import AuthError, EventFormatError, check_auth

DATA = Path(__file__).parent.parent / "data" / "event_auth" / "gomatrixserverlib_eventauth.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text())["cases"]

#: (case, unsigned.not_allowed) of the events that fail on format, not on a rule.
FORMAT_FAILURES = {
    ("TestAllowedEmptyRoom", "Sender is not a valid user ID"),
    ("TestAllowedEmptyRoom", "Room is not a valid room ID"),
    ("TestAllowedEmptyRoom", "Missing state_key"),
    ("TestAllowedEmptyRoom", "The state_key is not empty"),
    ("TestRedactAllowed", "Invalid redacts event ID"),
    ("TestRedactAllowed", "Missing redacts event ID"),
}


def _state(case: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    given = case["auth_events"]
    state: dict[tuple[str, str], dict[str, Any]] = {}
    for name, event_type in (
        ("create", "m.room.create"),
        ("join_rules", "m.room.join_rules"),
        ("power_levels", "m.room.power_levels"),
    ):
        if name in given:
            state[(event_type, "")] = given[name]
    for user, event in given.get("member", {}).items():
        state[("m.room.member", user)] = event
    for token, event in given.get("third_party_invite", {}).items():
        state[("m.room.third_party_invite", token)] = event
    return state


def _params(kind: str) -> list[Any]:
    return [
        pytest.param(case, index, id=f"{case['name']}-{index}")
        for case in CASES
        for index in range(len(case[kind]))
    ]


def test_counts() -> None:
    assert sum(len(c["allowed"]) for c in CASES) == 29
    assert sum(len(c["not_allowed"]) for c in CASES) == 40


@pytest.mark.parametrize(("case", "index"), _params("allowed"))
def test_allowed(case: dict[str, Any], index: int) -> None:
    check_auth(case["allowed"][index], _state(case), case["room_version"])


@pytest.mark.parametrize(("case", "index"), _params("not_allowed"))
def test_not_allowed(case: dict[str, Any], index: int) -> None:
    event = case["not_allowed"][index]
    reason = event["unsigned"]["not_allowed"]
    with pytest.raises(AuthError) as caught:
        check_auth(event, _state(case), case["room_version"])
    is_format = isinstance(caught.value, EventFormatError)
    assert is_format == ((case["name"], reason) in FORMAT_FAILURES), caught.value.message
    assert caught.value.errcode == ("M_BAD_JSON" if is_format else "M_FORBIDDEN")
