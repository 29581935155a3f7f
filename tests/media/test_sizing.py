"""Which thumbnail answers a request, and its geometry (spec: "Thumbnails")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioserver.media.sizing import (
    COMMON_THUMBNAILS,
    Method,
    ThumbnailSpec,
    choose_thumbnail,
    decode_size_needed,
    geometry,
)


def test_the_spec_common_sizes() -> None:
    assert [(s.width, s.height, s.method) for s in COMMON_THUMBNAILS] == [
        (32, 32, "crop"),
        (96, 96, "crop"),
        (320, 240, "scale"),
        (640, 480, "scale"),
        (800, 600, "scale"),
    ]


@pytest.mark.parametrize(
    ("request_size", "method", "expected"),
    [
        ((32, 32), "crop", ThumbnailSpec(32, 32, "crop")),
        ((20, 20), "crop", ThumbnailSpec(32, 32, "crop")),
        ((50, 50), "crop", ThumbnailSpec(96, 96, "crop")),
        ((64, 40), "crop", ThumbnailSpec(64, 40, "crop")),  # no common size of that aspect
        ((200, 200), "crop", ThumbnailSpec(200, 200, "crop")),
        ((100, 100), "scale", ThumbnailSpec(320, 240, "scale")),
        ((320, 240), "scale", ThumbnailSpec(320, 240, "scale")),
        ((321, 240), "scale", ThumbnailSpec(640, 480, "scale")),
        ((700, 100), "scale", ThumbnailSpec(800, 600, "scale")),
        ((900, 100), "scale", ThumbnailSpec(900, 100, "scale")),
        ((10**9, 5), "scale", ThumbnailSpec(10_000, 5, "scale")),
    ],
)
def test_choose(request_size: tuple[int, int], method: Method, expected: ThumbnailSpec) -> None:
    assert choose_thumbnail(*request_size, method, 4000, 3000) == expected


def test_content_no_bigger_than_the_request_is_the_original() -> None:
    assert choose_thumbnail(100, 100, "crop", 80, 100) is None
    assert choose_thumbnail(640, 480, "scale", 640, 480) is None
    assert choose_thumbnail(640, 480, "scale", 641, 480) == ThumbnailSpec(640, 480, "scale")
    with pytest.raises(ValueError):
        choose_thumbnail(0, 10, "scale", 100, 100)


@pytest.mark.parametrize(
    ("spec", "source", "size", "box"),
    [
        (ThumbnailSpec(320, 240, "scale"), (4000, 3000), (320, 240), (0, 0, 320, 240)),
        (ThumbnailSpec(320, 240, "scale"), (4000, 1000), (320, 80), (0, 0, 320, 80)),
        (ThumbnailSpec(320, 240, "scale"), (100, 50), (100, 50), (0, 0, 100, 50)),
        (ThumbnailSpec(96, 96, "crop"), (1000, 100), (96, 96), (432, 0, 528, 96)),
        (ThumbnailSpec(96, 96, "crop"), (50, 200), (50, 96), (0, 52, 50, 148)),
        (ThumbnailSpec(32, 32, "crop"), (640, 480), (32, 32), (5, 0, 37, 32)),
    ],
)
def test_geometry(
    spec: ThumbnailSpec,
    source: tuple[int, int],
    size: tuple[int, int],
    box: tuple[int, int, int, int],
) -> None:
    shape = geometry(spec, *source)
    assert (shape.width, shape.height) == size
    assert shape.box == box


sizes = st.integers(1, 5000)


@given(sizes, sizes, st.sampled_from(["crop", "scale"]), sizes, sizes)
def test_never_upscaled_and_never_smaller_than_needed(
    width: int, height: int, method: Method, source_width: int, source_height: int
) -> None:
    spec = choose_thumbnail(width, height, method, source_width, source_height)
    if spec is None:
        assert source_width <= width and source_height <= height
        return
    shape = geometry(spec, source_width, source_height)
    assert 1 <= shape.width <= source_width and 1 <= shape.height <= source_height
    assert shape.scaled_width <= source_width and shape.scaled_height <= source_height
    if method == "crop":
        # A crop is as big as asked in each dimension unless the source is smaller.
        assert shape.width >= min(width, source_width, spec.width)
        assert shape.height >= min(height, source_height, spec.height)
    else:
        # A scale fits its box, touching it on one side unless that needed upscaling.
        assert shape.width <= spec.width and shape.height <= spec.height
        assert (
            shape.width >= min(spec.width, source_width) - 1
            or shape.height >= min(spec.height, source_height) - 1
        )
    needed = decode_size_needed([spec], source_width, source_height)
    assert needed == (shape.scaled_width, shape.scaled_height)
