"""Server-side key backups (client-server API, "Server-side key backups"):
``/room_keys/version[/{version}]`` and ``/room_keys/keys[/{roomId}[/{sessionId}]]``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from quart import Blueprint, Response, request

from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.e2ee.backup import KeyBackups
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_key_backup", __name__)

_BASE = "/_matrix/client/<any(v3, r0):prefix>/room_keys"
_KEYS_ROUTES = (
    f"{_BASE}/keys",
    f"{_BASE}/keys/<roomId>",
    f"{_BASE}/keys/<roomId>/<path:sessionId>",  # session IDs are base64: "/" too
)


def _backups() -> KeyBackups:
    return KeyBackups(services().db)


def _version_param() -> str:
    version = request.args.get("version")
    if version is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'version' query parameter")
    return version


@blueprint.post(f"{_BASE}/version")
async def create_version(prefix: str) -> Response:
    owner = await require_user(allow_guest=False)
    body = await json_body()
    return json_response({"version": await _backups().create_version(owner.user_id, body)})


@blueprint.get(f"{_BASE}/version")
async def current_version(prefix: str) -> Response:
    owner = await require_user(allow_guest=False)
    return json_response(await _backups().get_version(owner.user_id, None))


@blueprint.get(f"{_BASE}/version/<version>")
async def get_version(prefix: str, version: str) -> Response:
    owner = await require_user(allow_guest=False)
    return json_response(await _backups().get_version(owner.user_id, version))


@blueprint.put(f"{_BASE}/version/<version>")
async def update_version(prefix: str, version: str) -> Response:
    owner = await require_user(allow_guest=False)
    body = await json_body()
    await _backups().update_version(owner.user_id, version, body)
    return json_response({})


@blueprint.delete(f"{_BASE}/version/<version>")
async def delete_version(prefix: str, version: str) -> Response:
    owner = await require_user(allow_guest=False)
    await _backups().delete_version(owner.user_id, version)
    return json_response({})


Handler = Callable[..., Awaitable[Response]]


def _keys_routes(method: str) -> Callable[[Handler], Handler]:
    """Register a handler for the three ``/room_keys/keys`` routes."""

    def register(handler: Handler) -> Handler:
        for depth, rule in enumerate(_KEYS_ROUTES):
            endpoint = f"{handler.__name__}_{depth}"
            blueprint.route(rule, methods=[method], endpoint=endpoint)(handler)
        return handler

    return register


@_keys_routes("PUT")
async def put_keys(
    prefix: str, roomId: str | None = None, sessionId: str | None = None
) -> Response:
    owner = await require_user(allow_guest=False)
    version = _version_param()
    body = await json_body()
    result = await _backups().put_keys_body(owner.user_id, version, body, roomId, sessionId)
    return json_response(result)


@_keys_routes("GET")
async def get_keys(
    prefix: str, roomId: str | None = None, sessionId: str | None = None
) -> Response:
    owner = await require_user(allow_guest=False)
    version = _version_param()
    return json_response(await _backups().get_keys(owner.user_id, version, roomId, sessionId))


@_keys_routes("DELETE")
async def delete_keys(
    prefix: str, roomId: str | None = None, sessionId: str | None = None
) -> Response:
    owner = await require_user(allow_guest=False)
    version = _version_param()
    return json_response(await _backups().delete_keys(owner.user_id, version, roomId, sessionId))
