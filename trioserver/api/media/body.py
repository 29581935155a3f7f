"""Request bodies with flow control, so an upload streams into the database
with bounded memory however fast the client sends.

Quart's connection task reads every ASGI message as soon as it arrives and
appends it to the request body, which defeats hypercorn's backpressure: a
client faster than the database would be buffered whole. Here the
connection task stops receiving while the body holds :data:`HIGH_WATER`
bytes the handler has not taken yet (hypercorn then stops reading the
socket, and TCP slows the client down), until the handler decides how it
reads the body:

* awaiting it whole (``await request.get_data()``, JSON handlers): no
  bound, the app's ``MAX_CONTENT_LENGTH`` applies, exactly as before;
* streaming it (:func:`stream_request_body`, or ``async for`` over
  ``request.body``): the bound stays, and the handler gives the size limit
  (uploads have their own, larger, limit than other requests).

A handler that answers without reading the whole body (a refused upload)
gets the rest read and dropped before its answer goes out (see
:data:`DRAIN_SECONDS`). :func:`install` puts these classes on the app;
nothing else changes for handlers that never stream.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable
from quart import Response, request
from quart_trio import QuartTrio
from quart_trio.asgi import TrioASGIHTTPConnection
from quart_trio.wrappers.request import TrioBody, TrioRequest
from werkzeug.exceptions import RequestEntityTooLarge

#: Bytes a body holds for a handler that has not taken them yet.
HIGH_WATER = 1024 * 1024
#: A handler that answers without reading the whole body (an early refusal of
#: an upload): the rest is read and dropped, for at most this long, before the
#: answer is sent. The client then reads the answer instead of stalling on its
#: upload, and the connection can be reused. (Hypercorn cannot end a response
#: while the app leaves body messages unread: it waits on its full app queue.)
DRAIN_SECONDS = 10.0


class FlowControlledBody(TrioBody):
    def __init__(self, expected_content_length: int | None, max_content_length: int | None) -> None:
        super().__init__(expected_content_length, max_content_length)
        # The Content-Length check waits until the handler says how it reads.
        self._must_raise = None
        self.expected_length = expected_content_length
        self._limit = max_content_length
        self._mode: str | None = None  # None: undecided; "whole"; "stream"; "discard"
        self._received = 0
        self._room = trio.Event()
        self._all_received = trio.Event()

    # -- the connection's side ----------------------------------------------------

    def append(self, data: bytes) -> None:
        if not data or self._must_raise is not None or self._mode == "discard":
            return
        self._received += len(data)
        if self._mode is not None and self._limit is not None and self._received > self._limit:
            self._too_large()
            return
        self._data.extend(data)
        self._has_data.set()

    def end(self) -> None:
        """The client has sent the whole body."""
        self._all_received.set()
        self.set_complete()

    async def wait_for_room(self) -> None:
        """Return once the connection may receive more (see the module doc)."""
        while (
            self._mode not in ("whole", "discard")
            and self._must_raise is None
            and not self._complete.is_set()
            and len(self._data) >= HIGH_WATER
        ):
            self._room = trio.Event()
            await self._room.wait()

    # -- the handler's side -------------------------------------------------------

    def _decide(self, mode: str, limit: int | None) -> None:
        if self._mode is not None:
            return
        self._mode = mode
        self._limit = limit
        if limit is not None and max(self.expected_length or 0, self._received) > limit:
            self._too_large()
        self._room.set()

    def _too_large(self) -> None:
        self._must_raise = RequestEntityTooLarge()
        self._data.clear()
        self.set_complete()
        self._room.set()

    def discard(self) -> None:
        """Drop the rest of the body: the request has been answered."""
        self._mode = "discard"
        self._data.clear()
        self._room.set()

    @property
    def all_received(self) -> bool:
        return self._all_received.is_set()

    async def wait_all_received(self) -> None:
        await self._all_received.wait()

    def stream(self, limit: int | None) -> FlowControlledBody:
        """Read this body as a stream of at most ``limit`` bytes (more:
        ``RequestEntityTooLarge``, the app's ``413 M_TOO_LARGE``)."""
        self._decide("stream", limit)
        return self

    def __await__(self) -> Generator[Any, None, Any]:
        self._decide("whole", self._limit)
        return super().__await__()

    async def __anext__(self) -> bytes:
        self._decide("stream", self._limit)
        data = await super().__anext__()
        self._room.set()
        return data


class FlowControlledRequest(TrioRequest):
    body_class = FlowControlledBody


class FlowControlledConnection(TrioASGIHTTPConnection):
    async def handle_request(  # type: ignore[override]
        self, nursery: trio.Nursery, request: TrioRequest, send: ASGISendCallable
    ) -> None:
        response = await self.app.handle_request(request)
        body = request.body
        if isinstance(body, FlowControlledBody) and not body.all_received:
            # Answered without reading the whole body (an early refusal): read
            # the rest and drop it first, or hypercorn would wait on its full
            # queue for ever when the response ends (see DRAIN_SECONDS).
            body.discard()
            with trio.move_on_after(DRAIN_SECONDS):
                await body.wait_all_received()
        timeout = self.app.config["RESPONSE_TIMEOUT"]
        if isinstance(response, Response) and response.timeout is not Ellipsis:
            timeout = response.timeout
        with trio.move_on_after(math.inf if timeout is None else timeout):
            await self._send_response(send, response)
        nursery.cancel_scope.cancel()

    async def handle_messages(  # type: ignore[override]
        self, nursery: trio.Nursery, request: TrioRequest, receive: ASGIReceiveCallable
    ) -> None:
        while True:
            body = request.body
            if isinstance(body, FlowControlledBody):
                await body.wait_for_room()
            message = await receive()
            if message["type"] == "http.request":
                body = request.body
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    if isinstance(body, FlowControlledBody):
                        body.end()
                    else:
                        body.set_complete()
            elif message["type"] == "http.disconnect":
                break
        nursery.cancel_scope.cancel()


def install(app: QuartTrio) -> None:
    """Make every request of ``app`` flow-controlled."""
    app.request_class = FlowControlledRequest
    app.asgi_http_class = FlowControlledConnection


def stream_request_body(limit: int) -> FlowControlledBody:
    """The current request's body as a stream of at most ``limit`` bytes."""
    body = request.body
    if not isinstance(body, FlowControlledBody):
        raise RuntimeError("the app has no flow-controlled request bodies (install())")
    return body.stream(limit)
