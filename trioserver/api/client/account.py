"""Account endpoints (client-server API, "Current account information")."""

from __future__ import annotations

from quart import Blueprint, Response

from trioserver.api.http import json_response, require_user

blueprint = Blueprint("client_account", __name__)


@blueprint.get("/_matrix/client/<any(v3, r0):prefix>/account/whoami")
async def whoami(prefix: str) -> Response:
    owner = await require_user()
    body: dict[str, object] = {"user_id": owner.user_id, "device_id": owner.device_id}
    if owner.is_guest:
        body["is_guest"] = True
    return json_response(body)
