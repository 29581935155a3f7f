"""Account registration (client-server API, legacy "Account registration"):
``POST /register``, ``GET /register/available``,
``GET /register/m.login.registration_token/validity``, and the 3PID
``requestToken`` endpoints of registration (refused: we hold no 3PIDs)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from trioserver.accounts import AccessTokenExpired, InvalidUserName
from trioserver.accounts import registration_tokens as reg_tokens
from trioserver.accounts.service import MAX_PASSWORD_LENGTH
from trioserver.accounts.uia import DUMMY, REGISTRATION_TOKEN, Flows
from trioserver.api.client.login import session_body
from trioserver.api.client.params import (
    device_display_name_param,
    device_id_param,
    optional_bool,
    optional_str,
)
from trioserver.api.client.uia import user_interactive_auth
from trioserver.api.context import services
from trioserver.api.http import client_ip, json_body, json_response
from trioserver.api.ratelimit import count_action, rate_limit
from trioserver.db.accounts import UserExists
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_register", __name__)

_PREFIXES = "<any(v3, r0):prefix>"


def _flows() -> Flows:
    """Open registration: one dummy stage; token registration: a token."""
    return [[DUMMY]] if services().config.registration == "open" else [[REGISTRATION_TOKEN]]


def _user_id_to_register(username: str) -> str:
    try:
        return services().accounts.user_id_to_register(username)
    except InvalidUserName as exc:
        raise MatrixError("M_INVALID_USERNAME", str(exc)) from None


def check_password_strength(password: str) -> None:
    if not password:
        raise MatrixError("M_WEAK_PASSWORD", "The password must not be empty")


async def _guest_to_upgrade(body: dict[str, Any]) -> str | None:
    """The guest a ``guest_access_token`` names (spec: "Guest Access")."""
    token = optional_str(body, "guest_access_token")
    if token is None:
        return None
    try:
        owner = await services().accounts.authenticate(token)
    except AccessTokenExpired:
        owner = None
    if owner is None or not owner.is_guest:
        raise MatrixError("M_FORBIDDEN", "Invalid guest access token")
    return owner.user_id


@blueprint.post(f"/_matrix/client/{_PREFIXES}/register")
async def register(prefix: str) -> Response:
    svc = services()
    kind = request.args.get("kind", "user")
    if kind not in ("user", "guest"):
        raise MatrixError("M_INVALID_PARAM", "'kind' must be 'user' or 'guest'")
    body = await json_body()
    ip = client_ip()
    rate_limit("registration", ip=ip, update=False)
    if kind == "guest":
        if not svc.config.guest_access:
            raise MatrixError("M_FORBIDDEN", "Guest access is disabled")
        # Guests: every parameter but the device's display name is ignored.
        guest = await svc.accounts.register_guest(
            device_display_name_param(body, "initial_device_display_name")
        )
        count_action("registration", ip=ip)
        return json_response({**session_body(guest), "home_server": svc.server_name})
    if svc.config.registration == "closed":
        raise MatrixError("M_FORBIDDEN", "Registration is disabled")

    username = optional_str(body, "username")
    password = optional_str(body, "password", max_length=MAX_PASSWORD_LENGTH)
    device_id = device_id_param(body)
    display_name = device_display_name_param(body, "initial_device_display_name")
    inhibit_login = optional_bool(body, "inhibit_login")
    refresh = optional_bool(body, "refresh_token")
    guest_user = await _guest_to_upgrade(body)
    # The spec wants these answered before user-interactive auth.
    user_id: str | None = None
    if guest_user is not None:
        if username is None or f"@{username.lower()}:{svc.server_name}" != guest_user:
            raise MatrixError("M_FORBIDDEN", "'username' must be the guest's own localpart")
    elif username is not None:
        user_id = _user_id_to_register(username)
        if await svc.accounts.is_user_id_taken(user_id):
            raise MatrixError("M_USER_IN_USE", "Desired user ID is already taken")
    if password is not None:
        check_password_strength(password)

    async with user_interactive_auth(body, _flows(), user_id=None) as session:
        if password is None:
            raise MatrixError("M_MISSING_PARAM", "Missing 'password'")
        token = session.registration_token
        try:
            if guest_user is not None:
                new_user_id = guest_user
                registered = await svc.accounts.upgrade_guest(
                    guest_user,
                    password,
                    login=not inhibit_login,
                    refresh=refresh,
                    device_id=device_id,
                    device_display_name=display_name,
                    registration_token=token,
                )
            else:
                localpart = None if user_id is None else user_id[1:].split(":", 1)[0]
                new_user_id, registered = await svc.accounts.create_user(
                    localpart,
                    password,
                    login=not inhibit_login,
                    refresh=refresh,
                    device_id=device_id,
                    device_display_name=display_name,
                    registration_token=token,
                )
        except UserExists:
            raise MatrixError("M_USER_IN_USE", "Desired user ID is already taken") from None
    count_action("registration", ip=ip)
    if registered is None:  # inhibit_login
        return json_response({"user_id": new_user_id, "home_server": svc.server_name})
    return json_response({**session_body(registered), "home_server": svc.server_name})


@blueprint.get(f"/_matrix/client/{_PREFIXES}/register/available")
async def username_available(prefix: str) -> Response:
    username = request.args.get("username")
    if not username:
        raise MatrixError("M_MISSING_PARAM", "Missing 'username'")
    user_id = _user_id_to_register(username)
    if await services().accounts.is_user_id_taken(user_id):
        raise MatrixError("M_USER_IN_USE", "Desired user ID is already taken")
    return json_response({"available": True})


@blueprint.get("/_matrix/client/v1/register/m.login.registration_token/validity")
async def registration_token_validity() -> Response:
    svc = services()
    if svc.config.registration != "token":
        raise MatrixError("M_FORBIDDEN", "Registration tokens are not used on this homeserver")
    token = request.args.get("token")
    if token is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'token'")
    rate_limit("registration_token_validity", ip=client_ip())
    await svc.accounts.uia.sweep()  # uses held by abandoned registrations come back
    return json_response({"valid": await reg_tokens.is_token_valid(svc.db, svc.clock, token)})


@blueprint.post(f"/_matrix/client/{_PREFIXES}/register/<any(email, msisdn):medium>/requestToken")
async def register_request_token(prefix: str, medium: str) -> Response:
    await json_body()
    raise MatrixError(
        "M_THREEPID_DENIED", "This homeserver does not register third-party IDs", status=403
    )
