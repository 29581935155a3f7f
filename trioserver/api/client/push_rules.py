"""Push rules (client-server API, "Push Rules: API"): ``GET /pushrules/``,
``GET /pushrules/global/``, ``GET/PUT/DELETE /pushrules/global/{kind}/{ruleId}``
and ``GET/PUT .../{ruleId}/enabled`` and ``.../{ruleId}/actions``.

User-defined rules are stored in ``push_rules``; server-default rules
(IDs starting with ``.``) come from :mod:`trioserver.push.rules` and can be
enabled, disabled and given other actions, never created or deleted (400).
After every change the full ruleset is written as the user's global
``m.push_rules`` account data (spec: "Push Rules: Events"), so ``/sync``
sends it like any other account data, and cached unread counts are dropped.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from trioserver.accounts import account_data
from trioserver.api.client.room_common import PREFIX
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.db import push_rules as sql
from trioserver.protocol.errors import MatrixError
from trioserver.push.rules import (
    Ruleset,
    check_actions,
    check_kind,
    check_new_rule,
    find_rule,
    is_default_rule_id,
)

blueprint = Blueprint("client_push_rules", __name__)

_GLOBAL = f"{PREFIX}/pushrules/global"
PUSH_RULES_TYPE = "m.push_rules"


async def push_rules_content(user_id: str) -> dict[str, Any]:
    """The ``m.push_rules`` account data content of ``user_id``."""
    return {"global": await services().unread.ruleset(user_id)}


async def _rules() -> tuple[str, Ruleset]:
    owner = await require_user()
    return owner.user_id, await services().unread.ruleset(owner.user_id)


async def _changed(user_id: str) -> None:
    svc = services()
    svc.unread.rules_changed(user_id)
    content = await push_rules_content(user_id)
    position = await account_data.put(svc.db, user_id, None, PUSH_RULES_TYPE, content)
    await svc.hooks.notify(svc.hooks.account_data_changed, user_id, position)


def _existing(rules: Ruleset, kind: str, rule_id: str) -> dict[str, Any]:
    check_kind(kind)
    rule = find_rule(rules, kind, rule_id)
    if rule is None:
        raise MatrixError("M_NOT_FOUND", "The push rule was not found.")
    return rule


@blueprint.get(f"{PREFIX}/pushrules/")
async def get_all(prefix: str) -> Response:
    _, rules = await _rules()
    return json_response({"global": rules})


@blueprint.get(f"{_GLOBAL}/")
async def get_global(prefix: str) -> Response:
    _, rules = await _rules()
    return json_response(rules)


@blueprint.get(f"{_GLOBAL}/<kind>/<ruleId>")
async def get_rule(prefix: str, kind: str, ruleId: str) -> Response:
    _, rules = await _rules()
    return json_response(_existing(rules, kind, ruleId))


@blueprint.delete(f"{_GLOBAL}/<kind>/<ruleId>")
async def delete_rule(prefix: str, kind: str, ruleId: str) -> Response:
    user_id, rules = await _rules()
    rule = _existing(rules, kind, ruleId)
    if rule.get("default"):
        raise MatrixError("M_INVALID_PARAM", "Server-default rules cannot be deleted")
    await services().db.run_write(sql.delete_rule_txn, user_id, kind, ruleId)
    await _changed(user_id)
    return json_response({})


@blueprint.put(f"{_GLOBAL}/<kind>/<ruleId>")
async def put_rule(prefix: str, kind: str, ruleId: str) -> Response:
    user_id, _ = await _rules()
    body = await json_body()
    check_kind(kind)
    if is_default_rule_id(kind, ruleId):
        raise MatrixError("M_INVALID_PARAM", "Server-default rules cannot be replaced")
    stored, actions = check_new_rule(kind, ruleId, body)
    before, after = request.args.get("before"), request.args.get("after")
    for anchor in (before, after):
        if anchor is not None and anchor.startswith("."):
            raise MatrixError("M_INVALID_PARAM", "before/after cannot be a server-default rule")
    try:
        await services().db.run_write(
            sql.put_rule_txn, user_id, kind, ruleId, stored, actions, before, after
        )
    except sql.RuleNotFound as exc:
        raise MatrixError("M_NOT_FOUND", f"before/after rule not found: {exc}") from None
    await _changed(user_id)
    return json_response({})


async def _set_attribute(kind: str, rule_id: str, **change: Any) -> Response:
    user_id, rules = await _rules()
    rule = _existing(rules, kind, rule_id)
    if rule.get("default"):
        await services().db.run_write(
            lambda conn: sql.set_default_rule_txn(conn, user_id, kind, rule_id, **change)
        )
    else:
        await services().db.run_write(
            lambda conn: sql.set_user_rule_txn(conn, user_id, kind, rule_id, **change)
        )
    await _changed(user_id)
    return json_response({})


@blueprint.get(f"{_GLOBAL}/<kind>/<ruleId>/enabled")
async def get_enabled(prefix: str, kind: str, ruleId: str) -> Response:
    _, rules = await _rules()
    return json_response({"enabled": bool(_existing(rules, kind, ruleId).get("enabled"))})


@blueprint.put(f"{_GLOBAL}/<kind>/<ruleId>/enabled")
async def put_enabled(prefix: str, kind: str, ruleId: str) -> Response:
    body = await json_body()
    enabled = body.get("enabled")
    if enabled is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'enabled'")
    if not isinstance(enabled, bool):
        raise MatrixError("M_INVALID_PARAM", "'enabled' must be true or false")
    return await _set_attribute(kind, ruleId, enabled=enabled)


@blueprint.get(f"{_GLOBAL}/<kind>/<ruleId>/actions")
async def get_actions(prefix: str, kind: str, ruleId: str) -> Response:
    _, rules = await _rules()
    return json_response({"actions": _existing(rules, kind, ruleId).get("actions", [])})


@blueprint.put(f"{_GLOBAL}/<kind>/<ruleId>/actions")
async def put_actions(prefix: str, kind: str, ruleId: str) -> Response:
    body = await json_body()
    if "actions" not in body:
        raise MatrixError("M_MISSING_PARAM", "Missing 'actions'")
    return await _set_attribute(kind, ruleId, actions=check_actions(body["actions"]))
