"""The server-default push rules as a table, and properties of the evaluator."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trioserver.protocol.property_paths import split_path
from trioserver.push.evaluate import (
    PushContext,
    compile_condition,
    compile_rules,
    condition_matches,
    evaluate,
    glob_matches,
    highlights,
    matching_rule,
    notifies,
)
from trioserver.push.rules import DefaultChange, UserRule, default_rules, ruleset

ME = "@me:hs"
OTHER = "@other:hs"
ADMIN = "@admin:hs"
PL = {"users": {ADMIN: 100}, "notifications": {"room": 50}}


def _msg(body: str = "hi", sender: str = OTHER, **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "sender": sender,
        "room_id": "!r:hs",
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def _ctx(members: int = 5, name: str | None = "Me Myself") -> PushContext:
    return PushContext(ME, members, name, PL, {"type": "m.room.create", "sender": ADMIN}, "10")


CASES: list[tuple[str, dict[str, Any], PushContext, str | None, bool, bool]] = [
    ("plain message in a group", _msg(), _ctx(), ".m.rule.message", True, False),
    ("dm message", _msg(), _ctx(2), ".m.rule.room_one_to_one", True, False),
    (
        "encrypted dm",
        {"type": "m.room.encrypted", "sender": OTHER, "content": {}},
        _ctx(2),
        ".m.rule.encrypted_room_one_to_one",
        True,
        False,
    ),
    (
        "encrypted group",
        {"type": "m.room.encrypted", "sender": OTHER, "content": {}},
        _ctx(),
        ".m.rule.encrypted",
        True,
        False,
    ),
    (
        "notice suppressed",
        {
            "type": "m.room.message",
            "sender": OTHER,
            "content": {"msgtype": "m.notice", "body": "x"},
        },
        _ctx(2),
        ".m.rule.suppress_notices",
        False,
        False,
    ),
    (
        "user mention",
        _msg(**{"m.mentions": {"user_ids": [ME]}}),
        _ctx(),
        ".m.rule.is_user_mention",
        True,
        True,
    ),
    (
        "someone else mentioned",
        _msg(**{"m.mentions": {"user_ids": [OTHER]}}),
        _ctx(),
        ".m.rule.message",
        True,
        False,
    ),
    (
        "@room by admin",
        _msg(sender=ADMIN, **{"m.mentions": {"room": True}}),
        _ctx(),
        ".m.rule.is_room_mention",
        True,
        True,
    ),
    (
        "@room without power",
        _msg(**{"m.mentions": {"room": True}}),
        _ctx(),
        ".m.rule.message",
        True,
        False,
    ),
    (
        "@room as a string is not true",
        _msg(sender=ADMIN, **{"m.mentions": {"room": "true"}}),
        _ctx(),
        ".m.rule.message",
        True,
        False,
    ),
    (
        "invite for me",
        {
            "type": "m.room.member",
            "sender": OTHER,
            "state_key": ME,
            "content": {"membership": "invite"},
        },
        _ctx(),
        ".m.rule.invite_for_me",
        True,
        False,
    ),
    (
        "other member events",
        {
            "type": "m.room.member",
            "sender": OTHER,
            "state_key": OTHER,
            "content": {"membership": "join"},
        },
        _ctx(),
        ".m.rule.member_event",
        False,
        False,
    ),
    (
        "tombstone",
        {"type": "m.room.tombstone", "sender": ADMIN, "state_key": "", "content": {}},
        _ctx(),
        ".m.rule.tombstone",
        True,
        True,
    ),
    (
        "reaction",
        {"type": "m.reaction", "sender": OTHER, "content": {}},
        _ctx(),
        ".m.rule.reaction",
        False,
        False,
    ),
    (
        "edit",
        _msg(**{"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}}),
        _ctx(),
        ".m.rule.suppress_edits",
        False,
        False,
    ),
    (
        "call",
        {"type": "m.call.invite", "sender": OTHER, "content": {}},
        _ctx(),
        ".m.rule.call",
        True,
        False,
    ),
    (
        "topic change",
        {"type": "m.room.topic", "sender": OTHER, "state_key": "", "content": {}},
        _ctx(),
        None,
        False,
        False,
    ),
    (
        "own message",
        _msg(sender=ME, **{"m.mentions": {"user_ids": [ME]}}),
        _ctx(),
        None,
        False,
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "event", "ctx", "rule_id", "notify", "highlight"), CASES, ids=[c[0] for c in CASES]
)
def test_default_rules(
    name: str,
    event: dict[str, Any],
    ctx: PushContext,
    rule_id: str | None,
    notify: bool,
    highlight: bool,
) -> None:
    rules = ruleset(ME, [])
    actions = evaluate(compile_rules(rules), event, ctx)
    if event["sender"] != ME:
        found = matching_rule(compile_rules(rules), event, ctx)
        assert (found[1]["rule_id"] if found else None) == rule_id
    assert notifies(actions) is notify
    assert highlights(actions) is highlight


def test_keyword_display_name_room_and_sender_rules() -> None:
    own = [
        UserRule("content", "tea", {"pattern": "tea*"}, ["notify", {"set_tweak": "highlight"}]),
        UserRule("room", "!quiet:hs", {}, []),
        UserRule("sender", OTHER, {}, ["notify"], enabled=False),
        UserRule(
            "override",
            "name",
            {"conditions": [{"kind": "contains_display_name"}]},
            ["notify", {"set_tweak": "highlight", "value": True}],
        ),
    ]
    rules = ruleset(ME, own)
    assert highlights(evaluate(compile_rules(rules), _msg("Time for teatime!"), _ctx()))
    assert not highlights(evaluate(compile_rules(rules), _msg("steam"), _ctx()))
    assert highlights(evaluate(compile_rules(rules), _msg("hello me myself, there"), _ctx()))
    assert not highlights(evaluate(compile_rules(rules), _msg("hello me myselfish"), _ctx()))
    quiet = {**_msg("tea"), "room_id": "!quiet:hs"}
    assert highlights(
        evaluate(compile_rules(rules), quiet, _ctx())
    )  # content rules come before room rules
    assert evaluate(compile_rules(rules), {**_msg("x"), "room_id": "!quiet:hs"}, _ctx()) == []
    # The master rule, once enabled, silences everything (even user overrides).
    silenced = ruleset(ME, own, [DefaultChange("override", ".m.rule.master", enabled=True)])
    assert evaluate(compile_rules(silenced), _msg("tea"), _ctx()) == []
    # A default rule's actions can be changed.
    loud = ruleset(
        ME,
        [],
        [
            DefaultChange(
                "underride", ".m.rule.message", actions=["notify", {"set_tweak": "highlight"}]
            )
        ],
    )
    assert highlights(evaluate(compile_rules(loud), _msg(), _ctx()))


def test_conditions_edge_cases() -> None:
    assert split_path("content.m\\.mentions.room") == ("content", "m.mentions", "room")
    assert split_path("a\\\\.b") == ("a\\", "b")
    assert glob_matches("lunc?*", "LUNCH") and not glob_matches("lunc?*", " lunch")
    assert glob_matches("ex*ple", "An exciting triple-whammy", words=True)
    assert not glob_matches("ample", "example", words=True)
    count = {"kind": "room_member_count"}
    for spec, members, expected in [
        ("2", 2, True),
        ("==2", 3, False),
        ("<3", 2, True),
        (">=10", 9, False),
        ("x", 2, False),
    ]:
        rules = {
            "override": [
                {
                    "rule_id": "c",
                    "enabled": True,
                    "conditions": [{**count, "is": spec}],
                    "actions": ["notify"],
                }
            ]
        }
        assert notifies(evaluate(compile_rules(rules), _msg(), _ctx(members))) is expected, spec
    unknown = {
        "override": [
            {
                "rule_id": "u",
                "enabled": True,
                "conditions": [{"kind": "future"}],
                "actions": ["notify"],
            }
        ]
    }
    assert evaluate(compile_rules(unknown), _msg(), _ctx()) == []
    prop = {"kind": "event_property_is", "key": "content.n", "value": 1}
    is_rules = {
        "override": [{"rule_id": "p", "enabled": True, "conditions": [prop], "actions": ["notify"]}]
    }
    assert notifies(evaluate(compile_rules(is_rules), _msg(n=1), _ctx()))
    assert not notifies(
        evaluate(compile_rules(is_rules), _msg(n=True), _ctx())
    )  # no bool/int mixing
    assert not notifies(evaluate(compile_rules(is_rules), _msg(n="1"), _ctx()))


def test_defaults_shape() -> None:
    rules = default_rules(ME)
    assert (
        rules["override"][0]["rule_id"] == ".m.rule.master" and not rules["override"][0]["enabled"]
    )
    assert [r["rule_id"] for r in rules["underride"]] == [
        ".m.rule.call",
        ".m.rule.encrypted_room_one_to_one",
        ".m.rule.room_one_to_one",
        ".m.rule.message",
        ".m.rule.encrypted",
    ]
    assert rules["content"] == rules["room"] == rules["sender"] == []
    assert all(r["default"] and r["rule_id"].startswith(".") for k in rules.values() for r in k)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_conditions = st.lists(
    st.dictionaries(
        st.sampled_from(["kind", "key", "pattern", "value", "is"]),
        st.sampled_from(
            [
                "event_match",
                "event_property_is",
                "event_property_contains",
                "contains_display_name",
                "room_member_count",
                "sender_notification_permission",
                "content.body",
                "type",
                "*",
                "<2",
                "room",
            ]
        )
        | _json,
        max_size=4,
    ),
    max_size=3,
)


@given(
    event=st.dictionaries(st.sampled_from(["type", "sender", "content", "state_key"]), _json),
    conditions=_conditions,
)
def test_evaluator_never_raises_and_picks_first_match(
    event: dict[str, Any], conditions: list[Any]
) -> None:
    rules = ruleset(
        ME, [UserRule("override", "x", {"conditions": conditions}, ["notify", "x-custom"])]
    )
    ctx = PushContext(ME, 3, "me", {"users": "bad"}, None, "99")
    actions = evaluate(compile_rules(rules), event, ctx)
    found = matching_rule(compile_rules(rules), event, ctx)
    if event.get("sender") == ME:
        assert actions == []
    else:
        assert actions == (found[1]["actions"] if found else [])


@given(st.text(max_size=20))
def test_escaped_literal_pattern_matches_itself(text: str) -> None:
    literal = text.replace("*", "").replace("?", "")
    assert glob_matches(
        literal, literal.upper() if literal.upper().lower() == literal.lower() else literal
    )


_match_values = st.sampled_from(
    ["hello", "HELLO there", "he*", "h?llo", "", "a.b", "x y z", "say hello!", "hellos"]
)


@given(
    event=st.fixed_dictionaries(
        {"type": st.sampled_from(["m.room.message", "m.reaction"]), "sender": _match_values},
        optional={
            "content": st.fixed_dictionaries(
                {},
                optional={"body": _match_values | _json, "a.b": _match_values, "a": _json},
            )
        },
    ),
    condition=st.one_of(
        _conditions.map(lambda cs: cs[0] if cs else {}),
        st.fixed_dictionaries(
            {
                "kind": st.just("event_match"),
                "key": st.sampled_from(["content.body", "type", "sender", "content.a\\.b"]),
                "pattern": _match_values,
            }
        ),
    ),
)
@example(
    event={"type": "m.room.message", "sender": "x", "content": {"body": "say hello!"}},
    condition={"kind": "event_match", "key": "content.body", "pattern": "hello"},
)
@example(
    event={"type": "m.room.message", "sender": "x", "content": {"a.b": "HELLO"}},
    condition={"kind": "event_match", "key": "content.a\\.b", "pattern": "h?llo"},
)
@example(
    event={"type": "m.room.message", "sender": "x"},
    condition={"kind": "event_match", "key": "type", "pattern": "m.room"},
)
def test_compiled_conditions_match_exactly_as_the_rules_say(
    event: dict[str, Any], condition: Any
) -> None:
    ctx = PushContext(ME, 3, "me", None, None, "12")
    assert compile_condition(condition)(event, ctx) is condition_matches(condition, event, ctx)
