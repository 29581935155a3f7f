"""Push rules: the server-default rules, a user's full ruleset, and the checks
of rules clients send (client-server API, "Push Rules", v1.19).

Pure code: plain data in, plain data out.

* Rules are the dicts the API shows (``rule_id``, ``default``, ``enabled``,
  ``actions`` and ``conditions`` for override/underride, ``pattern`` for
  content rules).
* Order of evaluation (spec: "Push Rules" and "Predefined Rules"):
  ``override``, ``content``, ``room``, ``sender``, ``underride``; within a
  kind, user-defined rules come before the server-default ones, except
  ``.m.rule.master``, which comes before everything.
* Server-default rule IDs start with ``.``; users may enable, disable and
  change the actions of them, never delete or add such IDs.
* The historical actions ``dont_notify`` and ``coalesce`` are stripped
  ("Historical Actions").
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trioserver.protocol.errors import MatrixError

KINDS = ("override", "content", "room", "sender", "underride")
MASTER = ".m.rule.master"
_HISTORICAL_ACTIONS = frozenset({"dont_notify", "coalesce"})
_USER = "[the user's Matrix ID]"

Rule = dict[str, Any]
Ruleset = dict[str, list[Rule]]


def _match(key: str, pattern: str) -> dict[str, str]:
    return {"kind": "event_match", "key": key, "pattern": pattern}


_SOUND_DEFAULT = {"set_tweak": "sound", "value": "default"}
_HIGHLIGHT = {"set_tweak": "highlight"}

#: (rule_id, conditions, actions, enabled) of the default override rules, in order.
_DEFAULT_OVERRIDE: list[tuple[str, list[dict[str, Any]], list[Any], bool]] = [
    (MASTER, [], [], False),
    (".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], [], True),
    (
        ".m.rule.invite_for_me",
        [
            _match("type", "m.room.member"),
            _match("content.membership", "invite"),
            _match("state_key", _USER),
        ],
        ["notify", _SOUND_DEFAULT],
        True,
    ),
    (".m.rule.member_event", [_match("type", "m.room.member")], [], True),
    (
        ".m.rule.is_user_mention",
        [
            {
                "kind": "event_property_contains",
                "key": "content.m\\.mentions.user_ids",
                "value": _USER,
            }
        ],
        ["notify", _SOUND_DEFAULT, _HIGHLIGHT],
        True,
    ),
    (
        ".m.rule.is_room_mention",
        [
            {"kind": "event_property_is", "key": "content.m\\.mentions.room", "value": True},
            {"kind": "sender_notification_permission", "key": "room"},
        ],
        ["notify", _HIGHLIGHT],
        True,
    ),
    (
        ".m.rule.tombstone",
        [_match("type", "m.room.tombstone"), _match("state_key", "")],
        ["notify", _HIGHLIGHT],
        True,
    ),
    (".m.rule.reaction", [_match("type", "m.reaction")], [], True),
    (
        ".m.rule.room.server_acl",
        [_match("type", "m.room.server_acl"), _match("state_key", "")],
        [],
        True,
    ),
    (
        ".m.rule.suppress_edits",
        [
            {
                "kind": "event_property_is",
                "key": "content.m\\.relates_to.rel_type",
                "value": "m.replace",
            }
        ],
        [],
        True,
    ),
]

_DEFAULT_UNDERRIDE: list[tuple[str, list[dict[str, Any]], list[Any], bool]] = [
    (
        ".m.rule.call",
        [_match("type", "m.call.invite")],
        ["notify", {"set_tweak": "sound", "value": "ring"}],
        True,
    ),
    (
        ".m.rule.encrypted_room_one_to_one",
        [{"kind": "room_member_count", "is": "2"}, _match("type", "m.room.encrypted")],
        ["notify", _SOUND_DEFAULT],
        True,
    ),
    (
        ".m.rule.room_one_to_one",
        [{"kind": "room_member_count", "is": "2"}, _match("type", "m.room.message")],
        ["notify", _SOUND_DEFAULT],
        True,
    ),
    (".m.rule.message", [_match("type", "m.room.message")], ["notify"], True),
    (".m.rule.encrypted", [_match("type", "m.room.encrypted")], ["notify"], True),
]


def _with_user(value: Any, user_id: str) -> Any:
    if value == _USER:
        return user_id
    if isinstance(value, dict):
        return {k: _with_user(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_user(v, user_id) for v in value]
    return value


def default_rules(user_id: str) -> Ruleset:
    """The server-default rules of ``user_id``, by kind, in order (content,
    room and sender have none since v1.17)."""
    out: Ruleset = {kind: [] for kind in KINDS}
    for kind, table in (("override", _DEFAULT_OVERRIDE), ("underride", _DEFAULT_UNDERRIDE)):
        for rule_id, conditions, actions, enabled in table:
            out[kind].append(
                {
                    "rule_id": rule_id,
                    "default": True,
                    "enabled": enabled,
                    "conditions": _with_user(copy.deepcopy(conditions), user_id),
                    "actions": copy.deepcopy(actions),
                }
            )
    return out


def is_default_rule_id(kind: str, rule_id: str) -> bool:
    return any(r[0] == rule_id for r in _default_table(kind))


def _default_table(kind: str) -> list[tuple[str, list[dict[str, Any]], list[Any], bool]]:
    return {"override": _DEFAULT_OVERRIDE, "underride": _DEFAULT_UNDERRIDE}.get(kind, [])


@dataclass(frozen=True, slots=True)
class UserRule:
    """A user-defined rule as stored: ``body`` holds ``conditions`` or ``pattern``."""

    kind: str
    rule_id: str
    body: Mapping[str, Any]
    actions: Sequence[Any]
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class DefaultChange:
    """A user's change to a server-default rule (None: left as the default)."""

    kind: str
    rule_id: str
    enabled: bool | None = None
    actions: Sequence[Any] | None = None


def user_rule_as_api(rule: UserRule) -> Rule:
    out: Rule = {
        "rule_id": rule.rule_id,
        "default": False,
        "enabled": rule.enabled,
        "actions": list(rule.actions),
    }
    if rule.kind in ("override", "underride"):
        out["conditions"] = list(rule.body.get("conditions", []))
    elif rule.kind == "content":
        out["pattern"] = rule.body.get("pattern", "")
    return out


def ruleset(
    user_id: str, user_rules: Sequence[UserRule], changes: Sequence[DefaultChange] = ()
) -> Ruleset:
    """The full ruleset of ``user_id`` in evaluation order: ``user_rules`` in
    priority order (each kind's own order kept), the defaults with
    ``changes`` applied."""
    defaults = default_rules(user_id)
    by_key = {(c.kind, c.rule_id): c for c in changes}
    for kind, rules in defaults.items():
        for rule in rules:
            change = by_key.get((kind, rule["rule_id"]))
            if change is None:
                continue
            if change.enabled is not None:
                rule["enabled"] = change.enabled
            if change.actions is not None:
                rule["actions"] = list(change.actions)
    out: Ruleset = {}
    for kind in KINDS:
        own = [user_rule_as_api(r) for r in user_rules if r.kind == kind]
        server = defaults[kind]
        if kind == "override":
            master = [r for r in server if r["rule_id"] == MASTER]
            rest = [r for r in server if r["rule_id"] != MASTER]
            out[kind] = master + own + rest
        else:
            out[kind] = own + server
    return out


def find_rule(rules: Ruleset, kind: str, rule_id: str) -> Rule | None:
    for rule in rules.get(kind, []):
        if rule["rule_id"] == rule_id:
            return rule
    return None


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise MatrixError("M_INVALID_PARAM", f"Unknown push rule kind {kind[:40]!r}")


def check_actions(actions: Any) -> list[Any]:
    """``actions`` as stored: a list of ``notify``, ``set_tweak`` objects and
    unknown string/object actions (kept, as clients may agree on them);
    historical actions stripped. 400 ``M_INVALID_PARAM`` otherwise."""
    if not isinstance(actions, list):
        raise MatrixError("M_INVALID_PARAM", "'actions' must be a list")
    out: list[Any] = []
    for action in actions:
        if isinstance(action, str):
            if action not in _HISTORICAL_ACTIONS:
                out.append(action)
        elif isinstance(action, dict):
            tweak = action.get("set_tweak")
            if "set_tweak" in action and not isinstance(tweak, str):
                raise MatrixError("M_INVALID_PARAM", "'set_tweak' must be a string")
            out.append(action)
        else:
            raise MatrixError("M_INVALID_PARAM", "Each action must be a string or an object")
    return out


def check_conditions(conditions: Any) -> list[dict[str, Any]]:
    """Conditions of an override/underride rule: a list of objects with a
    string ``kind`` (unknown kinds are stored: they never match)."""
    if not isinstance(conditions, list):
        raise MatrixError("M_INVALID_PARAM", "'conditions' must be a list")
    for condition in conditions:
        if not isinstance(condition, dict) or not isinstance(condition.get("kind"), str):
            raise MatrixError("M_INVALID_PARAM", "Each condition must be an object with a 'kind'")
        kind = condition["kind"]
        if kind in ("event_match",) and not (
            isinstance(condition.get("key"), str) and isinstance(condition.get("pattern"), str)
        ):
            raise MatrixError("M_INVALID_PARAM", "event_match needs string 'key' and 'pattern'")
        if kind in ("event_property_is", "event_property_contains") and not (
            isinstance(condition.get("key"), str) and "value" in condition
        ):
            raise MatrixError("M_INVALID_PARAM", f"{kind} needs a string 'key' and a 'value'")
        if kind == "room_member_count" and not isinstance(condition.get("is"), str):
            raise MatrixError("M_INVALID_PARAM", "room_member_count needs a string 'is'")
        if kind == "sender_notification_permission" and not isinstance(condition.get("key"), str):
            raise MatrixError("M_INVALID_PARAM", "sender_notification_permission needs a 'key'")
    return list(conditions)


def check_new_rule(
    kind: str, rule_id: str, body: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Validate a ``PUT /pushrules/global/{kind}/{ruleId}`` body: the stored
    ``body`` (conditions or pattern) and the actions."""
    check_kind(kind)
    if rule_id.startswith("."):
        raise MatrixError("M_INVALID_PARAM", "Rule IDs starting with '.' are server-default")
    if not rule_id or "/" in rule_id or "\\" in rule_id:
        raise MatrixError("M_INVALID_PARAM", "Invalid rule ID")
    if "actions" not in body:
        raise MatrixError("M_MISSING_PARAM", "Missing 'actions'")
    actions = check_actions(body["actions"])
    stored: dict[str, Any] = {}
    if kind in ("override", "underride"):
        stored["conditions"] = check_conditions(body.get("conditions", []))
    elif kind == "content":
        pattern = body.get("pattern")
        if pattern is None:
            raise MatrixError("M_MISSING_PARAM", "Content rules need a 'pattern'")
        if not isinstance(pattern, str):
            raise MatrixError("M_INVALID_PARAM", "'pattern' must be a string")
        stored["pattern"] = pattern
    elif kind == "room":
        if not rule_id.startswith("!"):
            raise MatrixError("M_INVALID_PARAM", "The rule ID of a room rule is a room ID")
    elif kind == "sender" and not rule_id.startswith("@"):
        raise MatrixError("M_INVALID_PARAM", "The rule ID of a sender rule is a user ID")
    return stored, actions


def conditions_of(kind: str, rule: Mapping[str, Any]) -> list[Any]:
    """The conditions a rule of ``kind`` amounts to (room, sender and content
    rules have predefined ones)."""
    if kind == "room":
        return [_match("room_id", rule["rule_id"])]
    if kind == "sender":
        return [_match("sender", rule["rule_id"])]
    if kind == "content":
        pattern = rule.get("pattern")
        return [_match("content.body", pattern)] if isinstance(pattern, str) else [{"kind": "?"}]
    conditions = rule.get("conditions", [])
    return conditions if isinstance(conditions, list) else [{"kind": "?"}]
