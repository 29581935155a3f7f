"""Server discovery and version endpoints (client-server API "Server Discovery",
"API Versions"; server-server API "GET /_matrix/federation/v1/version")."""

from __future__ import annotations

from quart import Blueprint, Response

import trioserver
from trioserver.api.context import services
from trioserver.api.http import json_response

blueprint = Blueprint("discovery", __name__)

#: The client-server spec versions we claim. Raised as features land: a
#: version is listed only when what clients rely on at that version works.
SUPPORTED_CLIENT_VERSIONS = [
    "r0.6.1",
    "v1.1",
    "v1.2",
    "v1.3",
    "v1.4",
    "v1.5",
    "v1.6",
    "v1.7",
    "v1.8",
    "v1.9",
    "v1.10",
]


@blueprint.get("/_matrix/client/versions")
async def versions() -> Response:
    return json_response({"versions": SUPPORTED_CLIENT_VERSIONS, "unstable_features": {}})


@blueprint.get("/.well-known/matrix/client")
async def well_known_client() -> Response:
    base_url = services().config.base_url.rstrip("/")
    return json_response({"m.homeserver": {"base_url": base_url}})


@blueprint.get("/.well-known/matrix/server")
async def well_known_server() -> Response:
    name = services().server_name
    if ":" not in name.rsplit("]", 1)[-1]:
        name = f"{name}:443"
    return json_response({"m.server": name})


@blueprint.get("/_matrix/federation/v1/version")
async def federation_version() -> Response:
    return json_response({"server": {"name": "trioserver", "version": trioserver.__version__}})
