"""Thumbnails through the API: the common sizes made after an upload, other
sizes on demand, animation, and hostile images refused cleanly."""

from __future__ import annotations

import pytest

from tests.media.helpers import (
    LEGACY,
    V1_MEDIA,
    animated_gif,
    errcode,
    format_of,
    image_bytes,
    png_bomb,
    size_of,
    upload,
)
from trioserver.api.media import media_of
from trioserver.media.repository import MediaRepository
from trioserver.testing import TestClient, TestHomeserver
from trioserver.testing.homeserver import TestResponse


def _repository(hs: TestHomeserver) -> MediaRepository:
    return media_of(hs.running.app).repository


async def _thumbnail(
    client: TestClient, media_id: str, width: int, height: int, method: str, **extra: str
) -> TestResponse:
    query = {"width": str(width), "height": str(height), "method": method, **extra}
    return await client.get(f"{V1_MEDIA}/thumbnail/localhost/{media_id}", query=query)


async def _stored_thumbnails(
    hs: TestHomeserver, media_id: str
) -> list[tuple[int, int, str, int, int, str]]:
    rows = await hs.services.db.run_read(
        lambda conn: conn.execute(
            "SELECT t.width, t.height, t.method, t.actual_width, t.actual_height, t.content_type"
            " FROM media_thumbnails t JOIN media m USING (media_nid) WHERE m.media_id = ?"
            " ORDER BY t.width, t.height",
            (media_id,),
        ).fetchall()
    )
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
async def test_crop_and_scale(homeserver: TestHomeserver, fmt: str, content_type: str) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    media_id = await upload(client, image_bytes(1024, 768, fmt), content_type, "photo")
    await _repository(homeserver).wait_idle()
    assert await _stored_thumbnails(homeserver, media_id) == [
        (32, 32, "crop", 32, 32, content_type),
        (96, 96, "crop", 96, 96, content_type),
        (320, 240, "scale", 320, 240, content_type),
        (640, 480, "scale", 640, 480, content_type),
        (800, 600, "scale", 800, 600, content_type),
    ]
    for width, height, method, expected in [
        (32, 32, "crop", (32, 32)),
        (50, 50, "crop", (96, 96)),
        (64, 40, "crop", (64, 40)),  # made on demand, of the aspect asked for
        (100, 100, "scale", (320, 240)),
        (640, 480, "scale", (640, 480)),
        (1000, 100, "scale", (133, 100)),  # on demand: fits its box (no common size covers it)
        (300, 600, "scale", (800, 600)),
    ]:
        got = await _thumbnail(client, media_id, width, height, method)
        assert got.status == 200, (width, height, method)
        assert got.headers["Content-Type"] == content_type
        assert format_of(got.body) == fmt
        assert size_of(got.body) == expected, (width, height, method)
        assert got.headers["Content-Disposition"].startswith('inline; filename="thumbnail.')
        assert got.headers["Content-Security-Policy"].startswith("sandbox;")
        assert got.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    # Stored now as well: 64x40 crop and 1000x100 scale.
    assert len(await _stored_thumbnails(homeserver, media_id)) == 7
    legacy = await client.get(
        f"{LEGACY}/thumbnail/localhost/{media_id}?width=32&height=32&method=crop"
    )
    assert size_of(legacy.body) == (32, 32)


async def test_an_image_smaller_than_asked_is_answered_with_itself(
    homeserver: TestHomeserver,
) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    small = image_bytes(20, 10, "PNG")
    media_id = await upload(client, small, "image/png")
    got = await _thumbnail(client, media_id, 32, 32, "crop")
    assert (got.status, got.body, got.headers["Content-Type"]) == (200, small, "image/png")
    assert got.headers["Content-Disposition"] == 'inline; filename="thumbnail.png"'
    # A BMP is no type to serve inline: re-encoded at its own size instead.
    bmp = await upload(client, image_bytes(20, 10, "BMP"), "image/bmp")
    got = await _thumbnail(client, bmp, 32, 32, "crop")
    assert (got.headers["Content-Type"], size_of(got.body)) == ("image/png", (20, 10))


async def test_animated(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    media_id = await upload(client, animated_gif(300, 200, frames=6), "image/gif")
    moving = await _thumbnail(client, media_id, 96, 96, "crop", animated="true")
    assert moving.headers["Content-Type"] == "image/webp"
    assert (format_of(moving.body), size_of(moving.body)) == ("WEBP", (96, 96))
    for extra in ({"animated": "false"}, {}):
        still = await _thumbnail(client, media_id, 96, 96, "crop", **extra)
        assert still.headers["Content-Type"] == "image/png"
    # A still image asked for animated is answered still.
    jpeg = await upload(client, image_bytes(300, 200, "JPEG"), "image/jpeg")
    got = await _thumbnail(client, jpeg, 96, 96, "crop", animated="true")
    assert got.headers["Content-Type"] == "image/jpeg"
    # An animation smaller than asked: the original only when animation is wanted.
    small = animated_gif(20, 20)
    small_id = await upload(client, small, "image/gif")
    assert (await _thumbnail(client, small_id, 96, 96, "crop", animated="true")).body == small
    assert (await _thumbnail(client, small_id, 96, 96, "crop")).headers[
        "Content-Type"
    ] == "image/png"


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        (b"this is text", "text/plain", (400, "M_UNKNOWN")),
        (b"%PDF-1.4 not an image", "application/pdf", (400, "M_UNKNOWN")),
        (b"\x89PNG\r\n\x1a\n\x00\x00garbage", "image/png", (400, "M_UNKNOWN")),
        (image_bytes(64, 64, "PNG")[:90], "image/png", (400, "M_UNKNOWN")),
        (image_bytes(64, 64, "JPEG")[:300], "image/jpeg", (400, "M_UNKNOWN")),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", (400, "M_UNKNOWN")),
        (png_bomb(30_000, 30_000), "image/png", (413, "M_TOO_LARGE")),
        (png_bomb(10_000, 8_000), "image/png", (413, "M_TOO_LARGE")),
    ],
)
async def test_bad_images_are_refused_cleanly(
    homeserver: TestHomeserver, data: bytes, content_type: str, expected: tuple[int, str]
) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    media_id = await upload(client, data, content_type)
    await _repository(homeserver).wait_idle()
    for method in ("crop", "scale", "crop"):  # the second time from the remembered refusal
        got = await _thumbnail(client, media_id, 32, 32, method, animated="true")
        assert errcode(got) == expected
    # The content itself is still served as uploaded.
    assert (await client.get(f"{V1_MEDIA}/download/localhost/{media_id}")).body == data


async def test_thumbnails_of_other_sizes_are_bounded(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    media_id = await upload(client, image_bytes(900, 700, "JPEG"), "image/jpeg")
    await _repository(homeserver).wait_idle()
    for size in range(100, 130):
        got = await _thumbnail(client, media_id, size, size + 1, "crop")
        assert size_of(got.body) == (size, size + 1)
    assert len(await _stored_thumbnails(homeserver, media_id)) == 5 + 16
