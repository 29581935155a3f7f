"""``GET /_matrix/client/v1/media/preview_url`` (and the deprecated
``/_matrix/media/{v3,r0}/preview_url``). Off unless ``url_previews`` is on:
then the endpoint does not exist here (``404 M_UNRECOGNIZED``, the spec's
answer for an endpoint a server does not implement)."""

from __future__ import annotations

from quart import Response, request

from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.api.media.common import blueprint, limit_rate, media
from trioserver.protocol.errors import MatrixError
from trioserver.util.ratelimit import Rate

#: Previews per user: a burst of 10, then one every two seconds.
PREVIEW_RATE = Rate(0.5, 10)


@blueprint.get("/_matrix/client/v1/media/preview_url")
@blueprint.get("/_matrix/media/<any(v3, r0):version>/preview_url")
async def preview_url(version: str | None = None) -> Response:
    if not services().config.url_previews:
        raise MatrixError("M_UNRECOGNIZED", "URL previews are not enabled on this server")
    owner = await require_user(allow_guest=False)
    url = request.args.get("url")
    if not url:
        raise MatrixError("M_MISSING_PARAM", "Missing 'url'")
    limit_rate("media_preview", owner.user_id, PREVIEW_RATE)
    return json_response(await media().previewer.preview(url))
