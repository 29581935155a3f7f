"""Uploading (spec: client-server API, "Content repository"):
``POST /_matrix/media/v3/upload``, ``POST /_matrix/media/v1/create``,
``PUT /_matrix/media/v3/upload/{serverName}/{mediaId}``, and the
configuration clients read first, ``GET /_matrix/client/v1/media/config``."""

from __future__ import annotations

from quart import Response, request

from trioserver.api.http import json_response, require_user
from trioserver.api.media.body import stream_request_body
from trioserver.api.media.common import blueprint, limit_rate, media
from trioserver.media.headers import sanitize_content_type
from trioserver.media.ids import is_valid_media_id, mxc_uri
from trioserver.protocol.errors import MatrixError
from trioserver.util.ratelimit import Rate

#: ``filename`` longer than this is refused.
MAX_FILENAME_LENGTH = 255
#: ``POST /create`` per user: a burst of 20, then one a second.
CREATE_RATE = Rate(1.0, 20)


def _filename() -> str | None:
    name = request.args.get("filename")
    if name is None or name == "":
        return None
    if len(name) > MAX_FILENAME_LENGTH:
        raise MatrixError("M_INVALID_PARAM", f"'filename' is longer than {MAX_FILENAME_LENGTH}")
    return name


async def _receive(user_id: str, media_id: str | None = None) -> str:
    repository = media().repository
    return await repository.upload(
        user_id,
        stream_request_body(repository.max_upload_bytes),
        content_type=sanitize_content_type(request.headers.get("Content-Type")),
        upload_name=_filename(),
        declared_length=request.content_length,
        media_id=media_id,
    )


@blueprint.post("/_matrix/media/<any(v3, r0):version>/upload")
async def upload(version: str) -> Response:
    owner = await require_user(allow_guest=False)
    media_id = await _receive(owner.user_id)
    return json_response({"content_uri": mxc_uri(media().repository.server_name, media_id)})


@blueprint.post("/_matrix/media/v1/create")
async def create() -> Response:
    owner = await require_user(allow_guest=False)
    limit_rate("media_create", owner.user_id, CREATE_RATE)
    created = await media().repository.create(owner.user_id)
    return json_response(
        {"content_uri": created.content_uri, "unused_expires_at": created.unused_expires_at}
    )


@blueprint.put("/_matrix/media/v3/upload/<server_name>/<media_id>")
async def upload_to_created(server_name: str, media_id: str) -> Response:
    owner = await require_user(allow_guest=False)
    if server_name != media().repository.server_name or not is_valid_media_id(media_id):
        raise MatrixError("M_NOT_FOUND", "Unknown media ID")
    await _receive(owner.user_id, media_id)
    return json_response({})


@blueprint.get("/_matrix/client/v1/media/config")
@blueprint.get("/_matrix/media/<any(v3, r0):version>/config")
async def config(version: str | None = None) -> Response:
    await require_user(allow_guest=False)
    return json_response({"m.upload.size": media().repository.max_upload_bytes})
