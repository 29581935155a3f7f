"""The quart-trio application: routes, Matrix errors for every path, CORS, request logs."""

from __future__ import annotations

import logging
import time
from typing import Any

from quart import Response, g, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from trioserver.api import discovery, keys, media
from trioserver.api.client import (
    account,
    account_data,
    capabilities,
    devices,
    login,
    profile,
    register,
)
from trioserver.api.client import directory as client_directory
from trioserver.api.client import key_backup as client_key_backup
from trioserver.api.client import keys as client_keys
from trioserver.api.client import membership as client_membership
from trioserver.api.client import public_rooms as client_public_rooms
from trioserver.api.client import room_send as client_room_send
from trioserver.api.client import room_state as client_room_state
from trioserver.api.client import rooms as client_rooms
from trioserver.api.client import search as client_search
from trioserver.api.client import user_directory as client_user_directory
from trioserver.api.client.filters import blueprint as filters_blueprint
from trioserver.api.client.hierarchy import blueprint as hierarchy_blueprint
from trioserver.api.client.history_blueprints import BLUEPRINTS as HISTORY_BLUEPRINTS
from trioserver.api.client.keys_changes import blueprint as keys_changes_blueprint
from trioserver.api.client.notifications import blueprint as notifications_blueprint
from trioserver.api.client.presence import blueprint as presence_blueprint
from trioserver.api.client.push_rules import blueprint as push_rules_blueprint
from trioserver.api.client.pushers import blueprint as pushers_blueprint
from trioserver.api.client.receipts import blueprint as receipts_blueprint
from trioserver.api.client.sync import blueprint as sync_blueprint
from trioserver.api.client.to_device import blueprint as to_device_blueprint
from trioserver.api.client.typing import blueprint as typing_blueprint
from trioserver.api.context import Services, attach
from trioserver.api.http import json_response
from trioserver.api.ratelimit import RateLimited
from trioserver.protocol.errors import MatrixError

log = logging.getLogger("trioserver.api")
access_log = logging.getLogger("trioserver.access")

#: Spec: client-server API, "Web Browser Clients".
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization",
}


def create_app(svc: Services) -> QuartTrio:
    app = QuartTrio("trioserver")
    app.config["MAX_CONTENT_LENGTH"] = svc.config.max_request_bytes
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.strict_slashes = False
    attach(app, svc)
    app.register_blueprint(discovery.blueprint)
    app.register_blueprint(keys.blueprint)
    app.register_blueprint(client_keys.blueprint)
    app.register_blueprint(client_key_backup.blueprint)
    for module in (account, account_data, capabilities, devices, login, profile, register):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(client_directory.blueprint)
    app.register_blueprint(client_public_rooms.blueprint)
    app.register_blueprint(hierarchy_blueprint)
    app.register_blueprint(client_search.blueprint)
    app.register_blueprint(client_user_directory.blueprint)
    for rooms_module in (client_rooms, client_membership, client_room_state, client_room_send):
        app.register_blueprint(rooms_module.blueprint)
    app.register_blueprint(media.blueprint)
    for history_blueprint in HISTORY_BLUEPRINTS:
        app.register_blueprint(history_blueprint)
    for sync_bp in (sync_blueprint, filters_blueprint, to_device_blueprint, keys_changes_blueprint):
        app.register_blueprint(sync_bp)
    for ephemeral_blueprint in (
        typing_blueprint,
        receipts_blueprint,
        presence_blueprint,
        push_rules_blueprint,
        pushers_blueprint,
        notifications_blueprint,
    ):
        app.register_blueprint(ephemeral_blueprint)

    @app.before_request
    async def _start() -> Response | None:
        g.started = time.perf_counter()
        if request.method == "OPTIONS":
            # CORS preflight: answered for every path, running no endpoint logic.
            return json_response({})
        return None

    @app.after_request
    async def _finish(response: Response) -> Response:
        response.headers.update(CORS_HEADERS)
        started = getattr(g, "started", None)
        duration_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        access_log.info(
            "%s %s %d %.1fms", request.method, request.path, response.status_code, duration_ms
        )
        return response

    @app.errorhandler(MatrixError)
    async def _matrix_error(error: MatrixError) -> Response:
        return json_response(error.to_json(), error.status)

    @app.errorhandler(RateLimited)
    async def _rate_limited(error: RateLimited) -> Response:
        response = json_response(error.to_json(), error.status)
        response.headers["Retry-After"] = error.retry_after_header
        return response

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 404:
            return json_response(
                {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}, 404
            )
        if status == 405:
            body = {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request method"}
            return json_response(body, 405)
        if status == 413:
            body = {"errcode": "M_TOO_LARGE", "error": "Request body too large"}
            return json_response(body, 413)
        if status == 400:
            return json_response({"errcode": "M_BAD_JSON", "error": error.description}, 400)
        return json_response({"errcode": "M_UNKNOWN", "error": error.description}, status)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        context = _request_context()
        log.error(
            "unhandled error in %s %s%s",
            request.method,
            request.path,
            "".join(f" {key}={value}" for key, value in context.items()),
            exc_info=error,
            extra={"matrix_context": context},
        )
        return json_response({"errcode": "M_UNKNOWN", "error": "Internal server error"}, 500)

    return app


def _request_context() -> dict[str, Any]:
    """Who and what the failing request was about: user, room, event."""
    context: dict[str, Any] = {}
    user_id = getattr(g, "user_id", None)
    if user_id is not None:
        context["user"] = user_id
    view_args = request.view_args or {}
    for key, name in (("roomId", "room"), ("eventId", "event"), ("userId", "target_user")):
        if key in view_args:
            context[name] = view_args[key]
    return context
