"""Capabilities negotiation (client-server API, "Capabilities negotiation"):
``GET /capabilities``."""

from __future__ import annotations

from quart import Blueprint, Response

from trioserver.api.http import json_response, require_user
from trioserver.protocol.room_versions import DEFAULT_ROOM_VERSION, ROOM_VERSIONS

blueprint = Blueprint("client_capabilities", __name__)


@blueprint.get("/_matrix/client/<any(v3, r0):prefix>/capabilities")
async def capabilities(prefix: str) -> Response:
    owner = await require_user()
    # Guests have no password, so they cannot pass the password stage of
    # POST /account/password or POST /login/get_token.
    full_account = not owner.is_guest
    return json_response(
        {
            "capabilities": {
                "m.change_password": {"enabled": full_account},
                "m.room_versions": {
                    "default": DEFAULT_ROOM_VERSION,
                    "available": {version: "stable" for version in ROOM_VERSIONS},
                },
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": not owner.is_guest},
                "m.profile_fields": (
                    {"enabled": True}
                    if full_account
                    else {"enabled": True, "allowed": ["displayname"]}
                ),
                "m.3pid_changes": {"enabled": False},
                "m.get_login_token": {"enabled": full_account},
            }
        }
    )
