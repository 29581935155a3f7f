"""Downloads and thumbnails: the authenticated ``/_matrix/client/v1/media/...``
endpoints and the deprecated unauthenticated ``/_matrix/media/{v3,r0}/...``
ones, which the ``legacy_media`` option can freeze (spec: "Client behaviour",
the freeze of unauthenticated media: they then answer ``404 M_NOT_FOUND``).

Responses stream from the database a chunk at a time, honour one
``Range: bytes=...``, and carry the spec's serving headers
(:func:`trioserver.media.headers.serving_headers`).
"""

from __future__ import annotations

from quart import Response, request

from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.api.media.common import blueprint, bool_arg, int_arg, media, streamed
from trioserver.db.media import MediaRow
from trioserver.media.headers import (
    DEFAULT_CONTENT_TYPE,
    content_disposition,
    download_disposition,
    serving_headers,
)
from trioserver.media.ranges import RangeNotSatisfiable, parse_range, unsatisfiable_content_range
from trioserver.media.repository import DEFAULT_WAIT_MS
from trioserver.media.sizing import METHODS, Method
from trioserver.protocol.errors import MatrixError

_LEGACY = "/_matrix/media/<any(v3, r0):version>"
_AUTHED = "/_matrix/client/v1/media"
_THUMBNAIL_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}


async def _authorize(authenticated: bool) -> None:
    if authenticated:
        await require_user()  # guests too (spec v1.12, "Guest access")
    elif not services().config.legacy_media:
        raise MatrixError("M_NOT_FOUND", "Unauthenticated media access is frozen here")


async def _media(server_name: str, media_id: str) -> MediaRow:
    wait_ms = int_arg("timeout_ms", default=DEFAULT_WAIT_MS)
    return await media().repository.get_media(server_name, media_id, wait_ms=wait_ms)


def _content(row: MediaRow, headers: dict[str, str]) -> Response:
    """The whole content of ``row``, or the one range asked for."""
    assert row.length is not None
    headers["Accept-Ranges"] = "bytes"
    try:
        # With If-Range (we send no validators, so none can match) the whole content.
        header = None if "If-Range" in request.headers else request.headers.get("Range")
        byte_range = parse_range(header, row.length)
    except RangeNotSatisfiable:
        response = json_response({"errcode": "M_UNKNOWN", "error": "Range not satisfiable"}, 416)
        response.headers["Content-Range"] = unsatisfiable_content_range(row.length)
        return response
    chunks = media().repository.read(row, byte_range)
    if byte_range is None:
        return streamed(chunks, row.length, headers)
    headers["Content-Range"] = byte_range.content_range(row.length)
    return streamed(chunks, byte_range.length, headers, status=206)


async def _download(
    server_name: str, media_id: str, file_name: str | None, *, authenticated: bool
) -> Response:
    await _authorize(authenticated)
    row = await _media(server_name, media_id)
    content_type = row.content_type or DEFAULT_CONTENT_TYPE
    name = file_name if file_name is not None else row.upload_name
    headers = serving_headers(
        content_type, download_disposition(content_type, name), private=authenticated
    )
    return _content(row, headers)


@blueprint.get(f"{_AUTHED}/download/<server_name>/<media_id>")
@blueprint.get(f"{_AUTHED}/download/<server_name>/<media_id>/<path:file_name>")
async def download(server_name: str, media_id: str, file_name: str | None = None) -> Response:
    return await _download(server_name, media_id, file_name, authenticated=True)


@blueprint.get(f"{_LEGACY}/download/<server_name>/<media_id>")
@blueprint.get(f"{_LEGACY}/download/<server_name>/<media_id>/<path:file_name>")
async def legacy_download(
    version: str, server_name: str, media_id: str, file_name: str | None = None
) -> Response:
    return await _download(server_name, media_id, file_name, authenticated=False)


def _method() -> Method:
    method = request.args.get("method", "scale")
    for known in METHODS:
        if method == known:
            return known
    raise MatrixError("M_INVALID_PARAM", "'method' must be crop or scale")


async def _thumbnail(server_name: str, media_id: str, *, authenticated: bool) -> Response:
    await _authorize(authenticated)
    width, height = int_arg("width"), int_arg("height")
    if width < 1 or height < 1:
        raise MatrixError("M_INVALID_PARAM", "'width' and 'height' must be positive")
    method = _method()
    animated = bool_arg("animated", default=False)
    row = await _media(server_name, media_id)
    thumbnail = await media().repository.thumbnail(row, width, height, method, animated)
    if thumbnail is None:  # the original is no bigger than asked for
        content_type = row.content_type or DEFAULT_CONTENT_TYPE
        disposition = content_disposition("inline", _thumbnail_name(content_type))
        return _content(row, serving_headers(content_type, disposition, private=authenticated))
    disposition = content_disposition("inline", _thumbnail_name(thumbnail.content_type))
    headers = serving_headers(thumbnail.content_type, disposition, private=authenticated)
    response = Response(b"" if request.method == "HEAD" else thumbnail.data, headers=headers)
    response.headers["Content-Length"] = str(len(thumbnail.data))
    return response


def _thumbnail_name(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    return "thumbnail." + _THUMBNAIL_EXTENSIONS.get(base, base.rpartition("/")[2] or "bin")


@blueprint.get(f"{_AUTHED}/thumbnail/<server_name>/<media_id>")
async def thumbnail(server_name: str, media_id: str) -> Response:
    return await _thumbnail(server_name, media_id, authenticated=True)


@blueprint.get(f"{_LEGACY}/thumbnail/<server_name>/<media_id>")
async def legacy_thumbnail(version: str, server_name: str, media_id: str) -> Response:
    return await _thumbnail(server_name, media_id, authenticated=False)
