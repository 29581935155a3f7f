"""Logging in (client-server API, "Login": ``GET/POST /login``)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from trioserver.accounts import LoginFailed, UserDeactivated
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_login", __name__)

_PREFIXES = "<any(v3, r0):prefix>"


@blueprint.get(f"/_matrix/client/{_PREFIXES}/login")
async def login_flows(prefix: str) -> Response:
    return json_response({"flows": [{"type": "m.login.password"}]})


def _user_of(body: dict[str, Any]) -> str:
    identifier = body.get("identifier")
    if identifier is not None:
        if not isinstance(identifier, dict):
            raise MatrixError("M_INVALID_PARAM", "'identifier' must be an object")
        if identifier.get("type") != "m.id.user":
            raise MatrixError("M_UNKNOWN", "Only m.id.user identifiers are supported")
        user = identifier.get("user")
    else:
        user = body.get("user")  # deprecated top-level form
    if not isinstance(user, str) or not user:
        raise MatrixError("M_MISSING_PARAM", "Missing user identifier")
    return user


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise MatrixError("M_INVALID_PARAM", f"'{key}' must be a string")
    return value


@blueprint.post(f"/_matrix/client/{_PREFIXES}/login")
async def login(prefix: str) -> Response:
    body = await json_body()
    kind = body.get("type")
    if kind != "m.login.password":
        raise MatrixError("M_UNKNOWN", f"Unknown login type {kind!r}")
    user = _user_of(body)
    password = body.get("password")
    if not isinstance(password, str):
        raise MatrixError("M_MISSING_PARAM", "Missing password")
    device_id = _optional_str(body, "device_id")
    display_name = _optional_str(body, "initial_device_display_name")
    svc = services()
    try:
        session = await svc.accounts.login_with_password(
            user, password, device_id=device_id, device_display_name=display_name
        )
    except LoginFailed:
        raise MatrixError("M_FORBIDDEN", "Invalid username or password") from None
    except UserDeactivated:
        raise MatrixError("M_USER_DEACTIVATED", "This account has been deactivated") from None
    return json_response(
        {
            "user_id": session.user_id,
            "access_token": session.access_token,
            "device_id": session.device_id,
            "home_server": svc.server_name,
            "well_known": {"m.homeserver": {"base_url": svc.config.base_url.rstrip("/")}},
        }
    )
