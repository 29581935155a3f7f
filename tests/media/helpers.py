"""Shared steps of the media tests: images made with Pillow, uploads, URLs."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image

from trioserver.testing import TestClient
from trioserver.testing.homeserver import TestResponse

V1_MEDIA = "/_matrix/client/v1/media"
LEGACY = "/_matrix/media/v3"


def image_bytes(width: int, height: int, fmt: str = "PNG", **save: Any) -> bytes:
    """A gradient image (so thumbnails have something to show)."""
    mode = "RGBA" if fmt == "PNG" and save.pop("alpha", False) else "RGB"
    image = Image.new(mode, (width, height))
    image.putdata(
        [
            (x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), 128)
            for y in range(height)
            for x in range(width)
        ]
        if width * height <= 250_000
        else [(200, 100, 50)] * (width * height)
    )
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def animated_gif(width: int, height: int, frames: int = 4) -> bytes:
    images = [
        Image.new("RGB", (width, height), (i * 60 % 256, 0, 255 - i * 60 % 256))
        for i in range(frames)
    ]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def format_of(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        return str(image.format)


async def upload(
    client: TestClient,
    data: bytes,
    content_type: str | None = "application/octet-stream",
    filename: str | None = None,
) -> str:
    """Upload through POST /upload; the media ID."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    query = {} if filename is None else {"filename": filename}
    response = await client.post(f"{LEGACY}/upload", data=data, headers=headers, query=query)
    assert response.status == 200, response.body
    uri = str(response.json()["content_uri"])
    assert uri.startswith("mxc://localhost/")
    return uri.rsplit("/", 1)[1]


def errcode(response: TestResponse) -> tuple[int, str]:
    return response.status, str(response.json().get("errcode"))
