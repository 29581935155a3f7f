"""What the media endpoints share: the blueprint, the repository of the app,
its start and stop, query parameters, and streamed responses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, cast

import trio
from quart import Blueprint, Response, current_app, request
from quart_trio import QuartTrio

from trioserver.api.context import Services, services
from trioserver.api.media import body
from trioserver.api.ratelimit import RateLimited
from trioserver.media.addresses import parse_networks
from trioserver.media.repository import MediaRepository
from trioserver.protocol.errors import MatrixError
from trioserver.util.ratelimit import Rate

if TYPE_CHECKING:
    from trioserver.media.preview import UrlPreviewer

blueprint = Blueprint("media", __name__)
blueprint.record_once(lambda state: body.install(cast(QuartTrio, state.app)))

_EXTENSION = "trioserver.media"
_INTEGER = re.compile(r"-?[0-9]{1,15}")


class MediaServices:
    def __init__(
        self, repository: MediaRepository, make_previewer: Callable[[], UrlPreviewer]
    ) -> None:
        self.repository = repository
        self._make_previewer = make_previewer
        self._previewer: UrlPreviewer | None = None

    @property
    def previewer(self) -> UrlPreviewer:
        """The URL previewer, made (and its HTTP client code loaded: ~4 MiB
        of memory) on first use: most servers never preview a URL."""
        if self._previewer is None:
            self._previewer = self._make_previewer()
        return self._previewer

    @classmethod
    def build(cls, svc: Services) -> MediaServices:
        config = svc.config
        repository = MediaRepository(
            svc.db,
            svc.clock,
            svc.server_name,
            max_upload_bytes=config.max_upload_bytes,
            quota_bytes=config.media_quota_bytes or None,
        )
        allowed = parse_networks(config.url_preview_allowed_ips)

        def make_previewer() -> UrlPreviewer:
            from trioserver.media.preview import UrlPreviewer  # late: see previewer

            return UrlPreviewer(svc.db, svc.clock, repository, allowed_networks=allowed)

        return cls(repository, make_previewer)


def install_media(app: QuartTrio, svc: Services) -> MediaServices:
    """Build the media services of ``app``. The composition root starts
    ``repository.run`` in its own nursery (clean-up, common thumbnails)."""
    built = MediaServices.build(svc)
    app.extensions[_EXTENSION] = built
    return built


def media() -> MediaServices:
    """The media services of the current app."""
    return cast(MediaServices, current_app.extensions[_EXTENSION])


def media_of(app: QuartTrio) -> MediaServices:
    """The media services of ``app`` once it serves (tests, benchmarks)."""
    return cast(MediaServices, app.extensions[_EXTENSION])


# -- parameters ------------------------------------------------------------------------


def int_arg(name: str, *, default: int | None = None) -> int:
    """An integer query parameter: ``400 M_MISSING_PARAM`` / ``M_INVALID_PARAM``."""
    text = request.args.get(name)
    if text is None:
        if default is None:
            raise MatrixError("M_MISSING_PARAM", f"Missing '{name}'")
        return default
    text = text.strip()
    if _INTEGER.fullmatch(text) is None:
        raise MatrixError("M_INVALID_PARAM", f"'{name}' must be an integer")
    return int(text)


def bool_arg(name: str, *, default: bool) -> bool:
    text = request.args.get(name)
    if text is None:
        return default
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise MatrixError("M_INVALID_PARAM", f"'{name}' must be true or false")


def limit_rate(action: str, user_id: str, rate: Rate) -> None:
    """A per-user token bucket of the media endpoints (unless rate limits are off)."""
    svc = services()
    if not svc.config.rate_limits:
        return
    wait = svc.rate_limiter.try_take(action, f"user:{user_id}", rate, trio.current_time())
    if wait > 0:
        raise RateLimited(wait)


# -- responses ---------------------------------------------------------------------------


def streamed(
    chunks: AsyncIterator[bytes], length: int, headers: dict[str, str], status: int = 200
) -> Response:
    """A response whose body comes from ``chunks`` as the client takes it
    (nothing for ``HEAD``), with its ``Content-Length`` and no time limit."""
    response: Response
    if request.method == "HEAD":
        response = Response(b"", status=status, headers=headers)
    else:
        response = Response(chunks, status=status, headers=headers)
    response.headers["Content-Length"] = str(length)
    response.timeout = None  # a large file to a slow client takes as long as it takes
    return response
