"""Evaluating push rules against one event for one user (client-server API,
"Push Rules": "Conditions"; appendices: "Glob-style matching",
"Dot-separated property paths").

Pure code. The caller supplies what the conditions need as plain data in a
:class:`PushContext`. The rules are a ruleset of :mod:`trioserver.push.rules`
(already in evaluation order). Nothing here raises on odd input: a condition
that cannot be evaluated does not match (spec: "Unrecognised conditions MUST
NOT match any events").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trioserver.protocol.power_levels import PowerLevels, creators, power_level_of
from trioserver.protocol.property_paths import split_path
from trioserver.protocol.room_versions import ROOM_VERSIONS
from trioserver.push.rules import KINDS, Ruleset, conditions_of

_MAX_SAFE = 2**53 - 1
_MEMBER_COUNT = re.compile(r"^(==|<=|>=|<|>)?([0-9]{1,10})$")
_WORD = "A-Za-z0-9_"


@dataclass(frozen=True, slots=True)
class PushContext:
    """What the conditions of one user's rules need about the room."""

    user_id: str
    member_count: int
    display_name: str | None = None
    #: content of the room's current m.room.power_levels (None: none)
    power_levels: Mapping[str, Any] | None = None
    #: the room's m.room.create event (None: unknown)
    create_event: Mapping[str, Any] | None = None
    room_version: str = "10"


_ABSENT = object()


def lookup(event: Mapping[str, Any], key: str) -> Any:
    """The value at ``key`` in ``event`` (``_ABSENT`` when missing)."""
    return _lookup_path(event, split_path(key))


def _lookup_path(event: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = event
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return _ABSENT
        value = value[part]
    return value


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str, words: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    if words:
        return re.compile(f"(?<![{_WORD}])(?:{body})(?![{_WORD}])", re.IGNORECASE | re.DOTALL)
    return re.compile(f"(?:{body})", re.IGNORECASE | re.DOTALL)


def glob_matches(pattern: str, value: str, *, words: bool = False) -> bool:
    """Case-insensitive glob: the whole value, or (``words``) any substring
    starting and ending at word boundaries (the ``content.body`` rule)."""
    regex = _glob(pattern, words)
    return bool(regex.search(value) if words else regex.fullmatch(value))


def _is_simple(value: Any) -> bool:
    if value is None or isinstance(value, str | bool):
        return True
    return isinstance(value, int) and -_MAX_SAFE <= value <= _MAX_SAFE


def _same(a: Any, b: Any) -> bool:
    """Exact equality of simple canonical values (no bool/int mixing)."""
    return type(a) is type(b) and a == b


def _member_count_matches(spec: Any, count: int) -> bool:
    if not isinstance(spec, str):
        return False
    match = _MEMBER_COUNT.match(spec)
    if match is None:
        return False
    op, number = match.group(1) or "==", int(match.group(2))
    return {
        "==": count == number,
        "<": count < number,
        ">": count > number,
        "<=": count <= number,
        ">=": count >= number,
    }[op]


def _display_name_matches(event: Mapping[str, Any], name: str | None) -> bool:
    body = lookup(event, "content.body")
    if not name or not isinstance(body, str):
        return False
    return _display_name_pattern(name).search(body) is not None


@functools.lru_cache(maxsize=1024)
def _display_name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(f"(?<![{_WORD}]){re.escape(name)}(?![{_WORD}])", re.IGNORECASE)


def _sender_may_notify(event: Mapping[str, Any], key: Any, ctx: PushContext) -> bool:
    sender = event.get("sender")
    if not isinstance(key, str) or not isinstance(sender, str):
        return False
    version = ctx.room_version if ctx.room_version in ROOM_VERSIONS else "10"
    levels = PowerLevels.from_content(ctx.power_levels, version) if ctx.power_levels else None
    room_creators = creators(ctx.create_event, version) if ctx.create_event else frozenset()
    needed = (levels or PowerLevels()).notification_level(key)
    return power_level_of(sender, levels, room_creators, version) >= needed


def condition_matches(condition: Any, event: Mapping[str, Any], ctx: PushContext) -> bool:
    if not isinstance(condition, Mapping):
        return False
    kind = condition.get("kind")
    key = condition.get("key")
    if kind == "event_match":
        pattern = condition.get("pattern")
        if not isinstance(key, str) or not isinstance(pattern, str):
            return False
        value = lookup(event, key)
        if not isinstance(value, str):
            return False
        return glob_matches(pattern, value, words=key == "content.body")
    if kind == "event_property_is":
        if not isinstance(key, str) or not _is_simple(condition.get("value", _ABSENT)):
            return False
        value = lookup(event, key)
        return _is_simple(value) and _same(value, condition["value"])
    if kind == "event_property_contains":
        if not isinstance(key, str) or not _is_simple(condition.get("value", _ABSENT)):
            return False
        value = lookup(event, key)
        if not isinstance(value, list):
            return False
        return any(_is_simple(v) and _same(v, condition["value"]) for v in value)
    if kind == "contains_display_name":
        return _display_name_matches(event, ctx.display_name)
    if kind == "room_member_count":
        return _member_count_matches(condition.get("is"), ctx.member_count)
    if kind == "sender_notification_permission":
        return _sender_may_notify(event, key, ctx)
    return False


Predicate = Callable[[Mapping[str, Any], PushContext], bool]


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """A ruleset ready to evaluate against many events: its enabled rules in
    evaluation order, each with its conditions as predicates (paths split,
    globs compiled once). Make with :func:`compile_rules`."""

    rules: tuple[tuple[str, Mapping[str, Any], tuple[Predicate, ...]], ...]


def _never(event: Mapping[str, Any], ctx: PushContext) -> bool:
    return False


def compile_condition(condition: Any) -> Predicate:
    """``condition`` as a predicate, equal to :func:`condition_matches`.
    ``event_match``, the condition of most rules, is specialised; the others
    are rarer and use :func:`condition_matches` itself."""
    if not isinstance(condition, Mapping):
        return _never
    if condition.get("kind") != "event_match":
        return functools.partial(_general, condition)
    key, pattern = condition.get("key"), condition.get("pattern")
    if not isinstance(key, str) or not isinstance(pattern, str):
        return _never
    path = split_path(key)
    words = key == "content.body"
    regex = _glob(pattern, words)
    test = regex.search if words else regex.fullmatch

    def event_match(event: Mapping[str, Any], ctx: PushContext) -> bool:
        value = _lookup_path(event, path)
        return isinstance(value, str) and test(value) is not None

    return event_match


def _general(condition: Any, event: Mapping[str, Any], ctx: PushContext) -> bool:
    return condition_matches(condition, event, ctx)


def compile_rules(rules: Ruleset) -> CompiledRules:
    return CompiledRules(
        tuple(
            (kind, rule, tuple(compile_condition(c) for c in conditions_of(kind, rule)))
            for kind in KINDS
            for rule in rules.get(kind, [])
            if rule.get("enabled", True)
        )
    )


def matching_rule(
    rules: CompiledRules, event: Mapping[str, Any], ctx: PushContext
) -> tuple[str, Mapping[str, Any]] | None:
    """The kind and rule of the first enabled rule matching ``event``."""
    for kind, rule, conditions in rules.rules:
        for condition in conditions:
            if not condition(event, ctx):
                break
        else:
            return kind, rule
    return None


def evaluate(rules: CompiledRules, event: Mapping[str, Any], ctx: PushContext) -> list[Any]:
    """The actions for ``event`` (``[]``: no rule matched, or it does nothing).
    Events the user sent themselves never notify (spec: "Push Rules")."""
    if event.get("sender") == ctx.user_id:
        return []
    found = matching_rule(rules, event, ctx)
    if found is None:
        return []
    actions = found[1].get("actions")
    return list(actions) if isinstance(actions, list) else []


def notifies(actions: Sequence[Any]) -> bool:
    return "notify" in actions


def highlights(actions: Sequence[Any]) -> bool:
    """The ``highlight`` tweak: true when given without a value (spec: "Actions")."""
    for action in actions:
        if isinstance(action, Mapping) and action.get("set_tweak") == "highlight":
            return action.get("value", True) is True
    return False
