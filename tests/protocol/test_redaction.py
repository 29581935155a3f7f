"""trioserver.protocol.redaction: the 38 cases x 12 room versions of
tests/data/redaction/redaction.json, and properties of the algorithm."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.json_strategies import ALL_VERSIONS, events, load_vectors
from trioserver.protocol.redaction import redact
from trioserver.protocol.room_versions import ROOM_VERSIONS

VECTORS = load_vectors("redaction/redaction.json")
CASES = VECTORS["cases"]


def test_vector_file_shape() -> None:
    assert len(CASES) == 38
    assert VECTORS["room_versions"] == ALL_VERSIONS
    for case in CASES:
        assert sorted(case["expected"], key=int) == ALL_VERSIONS


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_redaction_vectors(case: dict[str, Any], version: str) -> None:
    original = copy.deepcopy(case["input"])
    redacted = redact(case["input"], version)
    assert redacted == case["expected"][version]
    assert case["input"] == original, "redact must not modify its input"
    assert redact(redacted, version) == redacted, "redaction must be idempotent"
    assert redact(case["input"], ROOM_VERSIONS[version]) == redacted


def test_rules_summary_matches_the_flags() -> None:
    summary = VECTORS["rules_summary"]
    minimal = {"type": "t", "content": {}}
    every_key = {key: key for key in summary["top_level_keys_v1_to_v10"]} | {"extra": 1}
    for version in ALL_VERSIONS:
        expected_keys = summary[
            "top_level_keys_v11_v12" if int(version) >= 11 else "top_level_keys_v1_to_v10"
        ]
        kept = redact(every_key | minimal, version)
        assert set(kept) == set(expected_keys)


def test_content_is_always_present() -> None:
    for version in ALL_VERSIONS:
        assert redact({"type": "m.room.member"}, version) == {
            "type": "m.room.member",
            "content": {},
        }
        assert redact({"type": "x", "content": "text"}, version)["content"] == {}
        assert redact({"type": "m.room.create", "content": []}, version)["content"] == {}


@pytest.mark.parametrize(
    ("invite", "expected"),
    [
        ({"signed": {"token": "t"}, "display_name": "d"}, {"signed": {"token": "t"}}),
        ({"signed": "not-an-object"}, {"signed": "not-an-object"}),
        ({"display_name": "d"}, {}),
        ({}, {}),
        ("text", None),
        (None, None),
        ([{"signed": 1}], None),
    ],
)
def test_third_party_invite_v11(invite: Any, expected: dict[str, Any] | None) -> None:
    event = {
        "type": "m.room.member",
        "content": {"membership": "invite", "third_party_invite": invite},
    }
    for version in ALL_VERSIONS:
        content = redact(event, version)["content"]
        if ROOM_VERSIONS[version].updated_redaction_rules and expected is not None:
            assert content == {"membership": "invite", "third_party_invite": expected}
        else:
            assert content == {"membership": "invite"}


def test_v11_create_content_is_not_copied_by_reference() -> None:
    event = {"type": "m.room.create", "content": {"a": 1}}
    redacted = redact(event, "11")
    redacted["content"]["b"] = 2
    assert event["content"] == {"a": 1}


# --- properties ---------------------------------------------------------------


@given(events)
def test_redaction_is_idempotent_in_every_version(event: dict[str, Any]) -> None:
    for version in ALL_VERSIONS:
        once = redact(event, version)
        assert redact(once, version) == once


@given(events, st.sampled_from(ALL_VERSIONS))
def test_redaction_only_removes(event: dict[str, Any], version: str) -> None:
    redacted = redact(event, version)
    assert "unsigned" not in redacted
    for key, value in redacted.items():
        if key == "content":
            assert set(value) <= set(event["content"])
            for content_key, content_value in value.items():
                if content_key != "third_party_invite":
                    assert content_value == event["content"][content_key]
        else:
            assert event[key] == value


@given(events)
def test_later_versions_keep_at_least_as_much_content_except_aliases(event: dict[str, Any]) -> None:
    # From v1 to v12 the kept content only grows, but for m.room.aliases (dropped
    # in v6) and the third_party_invite trimming of v11.
    if event["type"] == "m.room.aliases":
        return
    previous: dict[str, Any] | None = None
    for version in ALL_VERSIONS:
        content = redact(event, version)["content"]
        if previous is not None:
            assert set(previous) <= set(content)
        previous = content
