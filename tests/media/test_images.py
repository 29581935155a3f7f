"""Pillow work: probing uploads and making thumbnails, hostile input included."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.media.helpers import animated_gif, format_of, image_bytes, png_bomb, size_of
from trioserver.media.images import ImageTooLarge, NotAnImage, probe, render
from trioserver.media.sizing import COMMON_THUMBNAILS, ThumbnailSpec


def test_probe() -> None:
    info = probe(image_bytes(640, 480, "JPEG"))
    assert (info.width, info.height, info.animated, info.format) == (640, 480, False, "JPEG")
    assert probe(animated_gif(40, 30)).animated


def test_common_thumbnails_of_a_jpeg_from_one_decode() -> None:
    made = render(image_bytes(1600, 1200, "JPEG"), COMMON_THUMBNAILS, animated=False)
    sizes = [(t.width, t.height) for t in made]
    assert sizes == [(32, 32), (96, 96), (320, 240), (640, 480), (800, 600)]
    for thumbnail in made:
        assert thumbnail.content_type == "image/jpeg"
        assert format_of(thumbnail.data) == "JPEG"
        assert size_of(thumbnail.data) == (thumbnail.width, thumbnail.height)


def test_png_with_alpha_stays_png() -> None:
    data = image_bytes(300, 200, "PNG", alpha=True)
    (crop,) = render(data, [ThumbnailSpec(96, 96, "crop")], animated=False)
    assert (crop.content_type, crop.width, crop.height) == ("image/png", 96, 96)
    with Image.open(io.BytesIO(crop.data)) as image:
        assert image.mode == "RGBA"


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (400, 200), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    data = buffer.getvalue()
    assert (probe(data).width, probe(data).height) == (200, 400)
    (thumbnail,) = render(data, [ThumbnailSpec(320, 240, "scale")], animated=False)
    assert (thumbnail.width, thumbnail.height) == (120, 240)


def test_animated_thumbnails_are_webp_only_when_asked() -> None:
    gif = animated_gif(200, 100, frames=5)
    (moving,) = render(gif, [ThumbnailSpec(96, 96, "crop")], animated=True)
    assert (moving.content_type, moving.animated) == ("image/webp", True)
    with Image.open(io.BytesIO(moving.data)) as image:
        assert image.format == "WEBP" and getattr(image, "n_frames", 1) == 5
        assert image.size == (96, 96)
    (still,) = render(gif, [ThumbnailSpec(96, 96, "crop")], animated=False)
    assert (still.content_type, still.animated) == ("image/png", False)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, I am text",
        image_bytes(50, 50, "PNG")[:60],  # truncated
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        image_bytes(50, 50, "JPEG")[:200],
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # a format we never open
        image_bytes(20, 20, "TIFF"),
    ],
)
def test_corrupt_and_unsupported_input_is_refused_cleanly(data: bytes) -> None:
    with pytest.raises(NotAnImage):
        render(data, [ThumbnailSpec(32, 32, "crop")], animated=False)


def test_decompression_bombs_are_refused_before_decoding() -> None:
    for width, height in ((20_000, 20_000), (10_000, 8_000), (100_000, 100_000)):
        bomb = png_bomb(width, height)
        assert len(bomb) < 200
        with pytest.raises(ImageTooLarge):
            probe(bomb)
        with pytest.raises(ImageTooLarge):
            render(bomb, [ThumbnailSpec(32, 32, "crop")], animated=False)
