"""Account endpoints (client-server API, "Current account information",
"Password management", "Account deactivation", "Adding Account Administrative
Contact Information").

This server holds no third-party identifiers (``m.3pid_changes`` is false):
``GET /account/3pid`` lists none, adding one fails its validation, and the
identity-server endpoints (``/account/3pid``, ``/bind``, ``/unbind``) are
not offered (404 ``M_UNRECOGNIZED``).
"""

from __future__ import annotations

from quart import Blueprint, Response

from trioserver.accounts.service import MAX_PASSWORD_LENGTH
from trioserver.api.client.params import optional_bool, required_str
from trioserver.api.client.register import check_password_strength
from trioserver.api.client.uia import PASSWORD_FLOWS, user_interactive_auth
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, optional_user, require_user
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_account", __name__)

_PREFIXES = "<any(v3, r0):prefix>"


@blueprint.get(f"/_matrix/client/{_PREFIXES}/account/whoami")
async def whoami(prefix: str) -> Response:
    owner = await require_user()
    body: dict[str, object] = {"user_id": owner.user_id, "device_id": owner.device_id}
    if owner.is_guest:
        body["is_guest"] = True
    return json_response(body)


@blueprint.post(f"/_matrix/client/{_PREFIXES}/account/password")
async def change_password(prefix: str) -> Response:
    """An access token is optional: without one, the password stage says who."""
    owner = await optional_user(allow_guest=False)
    body = await json_body()
    new_password = required_str(body, "new_password", max_length=MAX_PASSWORD_LENGTH)
    check_password_strength(new_password)
    logout_devices = optional_bool(body, "logout_devices", default=True)
    user_id = owner.user_id if owner else None
    async with user_interactive_auth(body, PASSWORD_FLOWS, user_id=user_id) as session:
        assert session.user_id is not None  # the password stage named the user
        await services().accounts.change_password(
            session.user_id,
            new_password,
            logout_devices=logout_devices,
            keep_device=owner.device_id if owner else None,
        )
    return json_response({})


@blueprint.post(f"/_matrix/client/{_PREFIXES}/account/deactivate")
async def deactivate(prefix: str) -> Response:
    owner = await optional_user(allow_guest=False)
    body = await json_body()
    erase = optional_bool(body, "erase")
    if body.get("id_server") is not None and not isinstance(body["id_server"], str):
        raise MatrixError("M_INVALID_PARAM", "'id_server' must be a string")
    svc = services()
    user_id = owner.user_id if owner else None
    async with user_interactive_auth(body, PASSWORD_FLOWS, user_id=user_id) as session:
        assert session.user_id is not None  # the password stage named the user
        await svc.accounts.deactivate(session.user_id, erase=erase)
    await svc.hooks.notify(svc.hooks.user_deactivated, session.user_id)
    # We hold no 3PIDs, so there was nothing to unbind: "success" (spec).
    return json_response({"id_server_unbind_result": "success"})


@blueprint.get(f"/_matrix/client/{_PREFIXES}/account/3pid")
async def list_threepids(prefix: str) -> Response:
    await require_user(allow_guest=False)
    return json_response({"threepids": []})


@blueprint.post(f"/_matrix/client/{_PREFIXES}/account/3pid/add")
async def add_threepid(prefix: str) -> Response:
    await require_user(allow_guest=False)
    body = await json_body()
    required_str(body, "client_secret")
    required_str(body, "sid")
    # Validation sessions come from requestToken, which we never start.
    raise MatrixError("M_THREEPID_AUTH_FAILED", "No such third-party validation session")


@blueprint.post(f"/_matrix/client/{_PREFIXES}/account/3pid/delete")
async def delete_threepid(prefix: str) -> Response:
    await require_user(allow_guest=False)
    body = await json_body()
    medium = required_str(body, "medium")
    required_str(body, "address")
    if medium not in ("email", "msisdn"):
        raise MatrixError("M_INVALID_PARAM", "'medium' must be 'email' or 'msisdn'")
    raise MatrixError("M_THREEPID_NOT_FOUND", "This account has no such third-party identifier")


@blueprint.post(
    f"/_matrix/client/{_PREFIXES}/account/3pid/<any(email, msisdn):medium>/requestToken"
)
async def threepid_request_token(prefix: str, medium: str) -> Response:
    await json_body()
    raise MatrixError(
        "M_THREEPID_MEDIUM_NOT_SUPPORTED", "This homeserver does not add third-party identifiers"
    )


@blueprint.post(
    f"/_matrix/client/{_PREFIXES}/account/password/<any(email, msisdn):medium>/requestToken"
)
async def password_request_token(prefix: str, medium: str) -> Response:
    await json_body()
    raise MatrixError("M_THREEPID_NOT_FOUND", "No account has this third-party identifier")
