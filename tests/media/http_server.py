"""A tiny HTTP/1.1 server on loopback for the URL preview tests (no internet)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import trio

Route = tuple[int, dict[str, str], bytes]  # status, headers, body


@dataclass
class LocalServer:
    port: int
    routes: dict[str, Route]
    requests: list[str] = field(default_factory=list)
    hang: bool = False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


async def _handle(server: LocalServer, stream: trio.SocketStream) -> None:
    async with stream:
        data = b""
        while b"\r\n\r\n" not in data:
            piece = await stream.receive_some(4096)
            if not piece:
                return
            data += piece
        path = data.split(b" ", 2)[1].decode()
        server.requests.append(path)
        if server.hang:
            await trio.sleep_forever()
        status, headers, body = server.routes.get(path, (404, {}, b"not found"))
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        await stream.send_all(head.encode() + b"\r\n" + body)


@asynccontextmanager
async def local_http_server(routes: dict[str, Route]) -> AsyncIterator[LocalServer]:
    async with trio.open_nursery() as nursery:
        server = LocalServer(0, routes)
        listeners = await nursery.start(
            partial(trio.serve_tcp, partial(_handle, server), 0, host="127.0.0.1")
        )
        server.port = listeners[0].socket.getsockname()[1]
        yield server
        nursery.cancel_scope.cancel()
