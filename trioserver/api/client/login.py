"""Sessions (client-server API, legacy "Login"): ``GET/POST /login``,
``POST /login/get_token``, ``POST /refresh``, ``POST /logout``, ``POST /logout/all``."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from trioserver.accounts import LoginFailed, Session, UserDeactivated
from trioserver.accounts.service import LOGIN_TOKEN_LIFETIME_MS
from trioserver.accounts.uia import user_of_identifier
from trioserver.api.client.params import (
    device_display_name_param,
    device_id_param,
    optional_bool,
    required_str,
)
from trioserver.api.client.uia import PASSWORD_FLOWS, user_interactive_auth
from trioserver.api.context import services
from trioserver.api.http import client_ip, json_body, json_response, require_user
from trioserver.api.ratelimit import count_action, rate_limit
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_login", __name__)

_PREFIXES = "<any(v3, r0):prefix>"

PASSWORD_LOGIN = "m.login.password"
TOKEN_LOGIN = "m.login.token"


@blueprint.get(f"/_matrix/client/{_PREFIXES}/login")
async def login_flows(prefix: str) -> Response:
    # m.login.token is honest: POST /login/get_token issues such tokens.
    return json_response(
        {"flows": [{"type": PASSWORD_LOGIN}, {"type": TOKEN_LOGIN, "get_login_token": True}]}
    )


def session_body(session: Session) -> dict[str, Any]:
    """The token part of a login or registration response; the login counts
    as the device's first activity (its last-seen IP and time)."""
    svc = services()
    svc.accounts.activity.record(
        session.user_id,
        session.device_id,
        svc.clock.time_ms(),
        client_ip(),
        request.headers.get("User-Agent"),
    )
    body: dict[str, Any] = {
        "user_id": session.user_id,
        "access_token": session.access_token,
        "device_id": session.device_id,
    }
    if session.refresh_token is not None:
        body["refresh_token"] = session.refresh_token
    if session.expires_in_ms is not None:
        body["expires_in_ms"] = session.expires_in_ms
    return body


def _account_key(user: str, server_name: str) -> str:
    """The account a login names, for its per-account rate limit ("alice",
    "@Alice:ours" and "@alice:ours" are one account)."""
    user = user.lower()
    suffix = ":" + server_name.lower()
    if user.startswith("@") and user.endswith(suffix):
        user = user[1 : -len(suffix)]
    return user


@blueprint.post(f"/_matrix/client/{_PREFIXES}/login")
async def login(prefix: str) -> Response:
    body = await json_body()
    kind = body.get("type")
    if kind not in (PASSWORD_LOGIN, TOKEN_LOGIN):
        raise MatrixError("M_UNKNOWN", f"Unknown login type {kind!r}")
    device_id = device_id_param(body)
    display_name = device_display_name_param(body, "initial_device_display_name")
    refresh = optional_bool(body, "refresh_token")
    svc = services()
    ip = client_ip()
    rate_limit("login", ip=ip)
    try:
        if kind == PASSWORD_LOGIN:
            user = user_of_identifier(body)
            password = required_str(body, "password")
            rate_limit("login", user_id=_account_key(user, svc.server_name))
            session = await svc.accounts.login_with_password(
                user,
                password,
                device_id=device_id,
                device_display_name=display_name,
                refresh=refresh,
            )
        else:
            token = required_str(body, "token")
            session = await svc.accounts.login_with_token(
                token, device_id=device_id, device_display_name=display_name, refresh=refresh
            )
    except LoginFailed:
        raise MatrixError("M_FORBIDDEN", "Invalid login credentials") from None
    except UserDeactivated:
        raise MatrixError("M_USER_DEACTIVATED", "This account has been deactivated") from None
    response = session_body(session)
    response["home_server"] = svc.server_name
    response["well_known"] = {"m.homeserver": {"base_url": svc.config.base_url.rstrip("/")}}
    return json_response(response)


@blueprint.post("/_matrix/client/v1/login/get_token")
async def get_login_token() -> Response:
    """A single-use login token for another client (spec v1.7). Always asks
    for the password again, as the spec requires."""
    owner = await require_user(allow_guest=False)
    body = await json_body(allow_empty=True)
    rate_limit("get_login_token", user_id=owner.user_id, update=False)
    async with user_interactive_auth(body, PASSWORD_FLOWS, user_id=owner.user_id):
        token = await services().accounts.issue_login_token(owner.user_id)
    count_action("get_login_token", user_id=owner.user_id)
    return json_response({"login_token": token, "expires_in_ms": LOGIN_TOKEN_LIFETIME_MS})


@blueprint.post(f"/_matrix/client/{_PREFIXES}/refresh")
async def refresh(prefix: str) -> Response:
    body = await json_body()
    refresh_token = required_str(body, "refresh_token")
    session = await services().accounts.refresh(refresh_token)
    if session is None:
        raise MatrixError("M_UNKNOWN_TOKEN", "Unknown refresh token", soft_logout=False)
    response: dict[str, Any] = {"access_token": session.access_token}
    if session.refresh_token is not None:
        response["refresh_token"] = session.refresh_token
    if session.expires_in_ms is not None:
        response["expires_in_ms"] = session.expires_in_ms
    return json_response(response)


@blueprint.post(f"/_matrix/client/{_PREFIXES}/logout")
async def logout(prefix: str) -> Response:
    """Invalidate the token and delete its device (the body is ignored: the
    spec has this endpoint take an empty one)."""
    owner = await require_user()
    await services().accounts.devices.delete(owner.user_id, [owner.device_id])
    return json_response({})


@blueprint.post(f"/_matrix/client/{_PREFIXES}/logout/all")
async def logout_all(prefix: str) -> Response:
    owner = await require_user()
    await services().accounts.devices.delete_all(owner.user_id)
    return json_response({})
