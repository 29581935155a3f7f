"""SQL for ``push_rules`` (user-defined rules) and ``push_rule_defaults``
(a user's changes to server-default rules).

Rules of one kind are ordered by ``priority`` (lowest first). Placing a rule
before or after another rewrites the priorities of that user's rules of that
kind (a handful of rows), in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

#: (kind, rule_id, body, actions, enabled) of a user rule.
StoredRule = tuple[str, str, dict[str, Any], list[Any], bool]
#: (kind, rule_id, enabled or None, actions or None) of a change to a default rule.
StoredDefault = tuple[str, str, bool | None, list[Any] | None]


def user_rules_txn(conn: sqlite3.Connection, user_id: str) -> list[StoredRule]:
    """``user_id``'s own rules, each kind in priority order."""
    rows = conn.execute(
        "SELECT kind, rule_id, rule, actions, enabled FROM push_rules"
        " WHERE user_id = ? ORDER BY kind, priority",
        (user_id,),
    )
    return [
        (kind, rule_id, json.loads(rule), json.loads(actions), bool(enabled))
        for kind, rule_id, rule, actions, enabled in rows
    ]


def default_changes_txn(conn: sqlite3.Connection, user_id: str) -> list[StoredDefault]:
    rows = conn.execute(
        "SELECT kind, rule_id, enabled, actions FROM push_rule_defaults WHERE user_id = ?",
        (user_id,),
    )
    return [
        (
            kind,
            rule_id,
            None if enabled is None else bool(enabled),
            None if actions is None else json.loads(actions),
        )
        for kind, rule_id, enabled, actions in rows
    ]


class RuleNotFound(LookupError):
    """The ``before``/``after`` rule does not exist."""


def put_rule_txn(
    conn: sqlite3.Connection,
    user_id: str,
    kind: str,
    rule_id: str,
    body: dict[str, Any],
    actions: Sequence[Any],
    before: str | None = None,
    after: str | None = None,
) -> None:
    """Create or replace a user rule. A new rule without ``before``/``after``
    goes first of its kind; an updated one keeps its place unless one is
    given. Raises :class:`RuleNotFound` for an unknown ``before``/``after``."""
    order = [
        str(r[0])
        for r in conn.execute(
            "SELECT rule_id FROM push_rules WHERE user_id = ? AND kind = ? ORDER BY priority",
            (user_id, kind),
        )
    ]
    exists = rule_id in order
    for anchor in (before, after):
        if anchor is not None and (anchor not in order or anchor == rule_id):
            raise RuleNotFound(anchor)
    conn.execute(
        "INSERT INTO push_rules (user_id, kind, rule_id, priority, rule, actions)"
        " VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (user_id, kind, rule_id) DO UPDATE SET"
        " rule = excluded.rule, actions = excluded.actions",
        (user_id, kind, rule_id, json.dumps(body), json.dumps(list(actions))),
    )
    if exists and before is None and after is None:
        return
    if exists:
        order.remove(rule_id)
    if before is not None:
        order.insert(order.index(before), rule_id)
    elif after is not None:
        order.insert(order.index(after) + 1, rule_id)
    else:
        order.insert(0, rule_id)
    conn.executemany(
        "UPDATE push_rules SET priority = ? WHERE user_id = ? AND kind = ? AND rule_id = ?",
        [(i, user_id, kind, r) for i, r in enumerate(order)],
    )


def delete_rule_txn(conn: sqlite3.Connection, user_id: str, kind: str, rule_id: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM push_rules WHERE user_id = ? AND kind = ? AND rule_id = ?",
        (user_id, kind, rule_id),
    )
    return cursor.rowcount > 0


def set_user_rule_txn(
    conn: sqlite3.Connection,
    user_id: str,
    kind: str,
    rule_id: str,
    *,
    enabled: bool | None = None,
    actions: Sequence[Any] | None = None,
) -> bool:
    """Change ``enabled`` or ``actions`` of a user rule; False if there is none."""
    if enabled is not None:
        cursor = conn.execute(
            "UPDATE push_rules SET enabled = ? WHERE user_id = ? AND kind = ? AND rule_id = ?",
            (int(enabled), user_id, kind, rule_id),
        )
    else:
        cursor = conn.execute(
            "UPDATE push_rules SET actions = ? WHERE user_id = ? AND kind = ? AND rule_id = ?",
            (json.dumps(list(actions or [])), user_id, kind, rule_id),
        )
    return cursor.rowcount > 0


def set_default_rule_txn(
    conn: sqlite3.Connection,
    user_id: str,
    kind: str,
    rule_id: str,
    *,
    enabled: bool | None = None,
    actions: Sequence[Any] | None = None,
) -> None:
    """Change ``enabled`` or ``actions`` of a server-default rule for the user."""
    conn.execute(
        "INSERT INTO push_rule_defaults (user_id, kind, rule_id) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (user_id, kind, rule_id),
    )
    if enabled is not None:
        conn.execute(
            "UPDATE push_rule_defaults SET enabled = ?"
            " WHERE user_id = ? AND kind = ? AND rule_id = ?",
            (int(enabled), user_id, kind, rule_id),
        )
    if actions is not None:
        conn.execute(
            "UPDATE push_rule_defaults SET actions = ?"
            " WHERE user_id = ? AND kind = ? AND rule_id = ?",
            (json.dumps(list(actions)), user_id, kind, rule_id),
        )
