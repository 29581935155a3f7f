"""URL previews (spec: ``GET /_matrix/client/v1/media/preview_url``): fetch a
page, answer its OpenGraph data, keep the image as local media.

Never a request to a non-public address: every connection, the first and
each redirect's, goes through :class:`GuardedBackend`, which resolves the
name itself, refuses it if *any* address is private, loopback, link-local or
otherwise non-public (unless the administrator allowed that network), and
then connects to an address it checked (no second lookup an attacker's DNS
could answer differently). Redirects are followed by hand, at most
:data:`MAX_REDIRECTS`. Bodies are read up to a size limit, the whole fetch
within :data:`FETCH_TIMEOUT_S`. Answers are cached for :data:`CACHE_MS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urljoin

import httpcore
import trio

from trioserver.db import Database
from trioserver.db import media as sql
from trioserver.media.addresses import BlockedAddress, IPNetwork, check_addresses
from trioserver.media.headers import base_content_type, sanitize_content_type
from trioserver.media.images import ThumbnailRefused, probe
from trioserver.media.opengraph import decode_html, parse_opengraph
from trioserver.media.repository import MediaRepository
from trioserver.media.urls import normalize_url
from trioserver.protocol.errors import MatrixError
from trioserver.util.blocking import BlockingRunner
from trioserver.util.clock import Clock

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 10.0
MAX_REDIRECTS = 5
#: Of an HTML page, only this much is read (OpenGraph lives in the head).
MAX_PAGE_BYTES = 1024 * 1024
#: A preview image (the URL's own or its og:image) larger than this is skipped.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
CACHE_MS = 3600 * 1000
USER_AGENT = b"trioserver URL preview (Matrix homeserver)"


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """TCP connections only to addresses :func:`check_addresses` allows."""

    def __init__(
        self, allowed: Sequence[IPNetwork] = (), inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._allowed = tuple(allowed)
        self._inner = inner or httpcore.TrioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = check_addresses([str(info[4][0]) for info in infos], self._allowed)
        failure: Exception | None = None
        for address in dict.fromkeys(addresses):
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets for previews")

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  #: after redirects
    content_type: str
    body: bytes
    truncated: bool


def check_url(url: str) -> str:
    """``url`` normalised (:func:`normalize_url`), or ``400 M_INVALID_PARAM``."""
    normalized = normalize_url(url)
    if normalized is None:
        raise MatrixError("M_INVALID_PARAM", "Only http(s) URLs with a valid host can be previewed")
    return normalized


class UrlPreviewer:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        repository: MediaRepository,
        *,
        allowed_networks: Sequence[IPNetwork] = (),
    ) -> None:
        self._db = db
        self._clock = clock
        self._repository = repository
        self._backend = GuardedBackend(allowed_networks)
        self._runner = BlockingRunner(inline=db.inline)

    async def preview(self, url: str) -> dict[str, Any]:
        """The OpenGraph data of ``url`` (cached); ``403 M_FORBIDDEN`` for a
        URL leading to a non-public address, ``502``/``504 M_UNKNOWN`` when it
        cannot be fetched."""
        url = check_url(url)
        cached = await self._db.run_read(sql.get_preview_txn, url, self._clock.time_ms())
        if cached is not None:
            answer: dict[str, Any] = json.loads(cached)
            return answer
        with trio.move_on_after(FETCH_TIMEOUT_S) as scope:
            answer = await self._preview_uncached(url)
        if scope.cancelled_caught:
            raise MatrixError("M_UNKNOWN", "Timed out fetching the URL", status=504)
        now = self._clock.time_ms()
        await self._db.run_write(
            sql.store_preview_txn, url, json.dumps(answer), now, now + CACHE_MS
        )
        return answer

    async def _preview_uncached(self, url: str) -> dict[str, Any]:
        async with httpcore.AsyncConnectionPool(
            network_backend=self._backend, max_connections=4, retries=0
        ) as pool:
            try:
                page = await self._fetch(pool, url, MAX_PAGE_BYTES, truncate=True)
            except BlockedAddress:
                raise MatrixError("M_FORBIDDEN", "This URL cannot be previewed") from None
            except httpcore.TimeoutException:
                raise MatrixError("M_UNKNOWN", "Timed out fetching the URL", status=504) from None
            except (httpcore.NetworkError, httpcore.ProtocolError, _BadResponse) as exc:
                log.info("preview of %s failed: %s", url, exc)
                raise MatrixError("M_UNKNOWN", "Could not fetch the URL", status=502) from None
            except httpcore.UnsupportedProtocol as exc:
                log.info("preview of %s failed: %s", url, exc)
                raise MatrixError("M_UNKNOWN", "Could not fetch the URL", status=502) from None
            kind = base_content_type(page.content_type)
            if kind.startswith("image/"):
                return await self._image_preview(page) or {}
            if kind not in ("text/html", "application/xhtml+xml"):
                return {}
            og: dict[str, Any] = dict(
                parse_opengraph(decode_html(page.body, page.content_type), page.url)
            )
            image_url = og.pop("og:image", None)
            if image_url is not None:
                try:
                    image = await self._fetch(pool, image_url, MAX_IMAGE_BYTES, truncate=False)
                except (BlockedAddress, MatrixError, httpcore.TimeoutException) as exc:
                    log.info("preview image %s skipped: %s", image_url, exc)
                except (httpcore.NetworkError, httpcore.ProtocolError, _BadResponse) as exc:
                    log.info("preview image %s skipped: %s", image_url, exc)
                except httpcore.UnsupportedProtocol as exc:
                    log.info("preview image %s skipped: %s", image_url, exc)
                else:
                    og.update(await self._image_preview(image) or {})
            return og

    async def _image_preview(self, image: Fetched) -> dict[str, Any] | None:
        """Keep an image as local media: the ``og:image*`` keys of the answer."""
        if image.truncated:
            return None
        try:
            info = await self._runner.run(probe, image.body)
        except ThumbnailRefused:
            return None
        content_type = sanitize_content_type(image.content_type)
        media_id = await self._repository.upload(
            None, _one_piece(image.body), content_type=content_type, upload_name=None
        )
        return {
            "og:image": f"mxc://{self._repository.server_name}/{media_id}",
            "og:image:type": content_type,
            "og:image:width": info.width,
            "og:image:height": info.height,
            "matrix:image:size": len(image.body),
        }

    async def _fetch(
        self, pool: httpcore.AsyncConnectionPool, url: str, limit: int, *, truncate: bool
    ) -> Fetched:
        """GET ``url`` following redirects by hand; at most ``limit`` bytes of
        the body (more: cut there when ``truncate``, else :class:`_BadResponse`)."""
        for _ in range(MAX_REDIRECTS + 1):
            url = check_url(url)
            headers = [(b"User-Agent", USER_AGENT), (b"Accept", b"text/html, image/*;q=0.9")]
            timeouts = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
            async with pool.stream(
                "GET", url, headers=headers, extensions={"timeout": timeouts}
            ) as response:
                found = _header(response.headers, b"location")
                if response.status in (301, 302, 303, 307, 308) and found is not None:
                    url = urljoin(url, found)
                    continue
                if response.status != 200:
                    raise _BadResponse(f"{url} answered {response.status}")
                content_type = _header(response.headers, b"content-type") or ""
                body = bytearray()
                truncated = False
                stream = cast(AsyncGenerator[bytes, None], response.aiter_stream())
                async with aclosing(stream) as pieces:
                    async for piece in pieces:
                        body += piece
                        if len(body) > limit:
                            if not truncate:
                                raise _BadResponse(f"{url} is larger than {limit} bytes")
                            del body[limit:]
                            truncated = True
                            break
                return Fetched(url, content_type, bytes(body), truncated)
        raise _BadResponse(f"more than {MAX_REDIRECTS} redirects")


class _BadResponse(Exception):
    pass


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _one_piece(data: bytes) -> AsyncIterator[bytes]:
    yield data
