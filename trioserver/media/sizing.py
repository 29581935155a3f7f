"""Which thumbnail answers a request, and its geometry (spec: client-server
API, "Thumbnails"). Pure arithmetic: no I/O, no image library.

* The server makes the spec's common sizes in advance (:data:`COMMON_THUMBNAILS`).
* A request is answered by the smallest common size that is at least as big
  as asked (for ``crop``: of the same aspect ratio too); failing that, by a
  thumbnail of exactly the size asked, made on demand.
* Content no bigger than the request is answered by the original.
* Nothing is ever upscaled: ``scale`` fits the image inside its box, ``crop``
  covers its box and cuts the middle out, both at most at the source's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Method = Literal["crop", "scale"]
METHODS: tuple[Method, ...] = ("crop", "scale")

#: Requests above this are treated as this (the answer cannot be bigger than
#: the source anyway, and this keeps every number small).
MAX_DIMENSION = 10_000


@dataclass(frozen=True, slots=True)
class ThumbnailSpec:
    """A thumbnail as asked for: the exact size (``crop``) or the bounding box (``scale``)."""

    width: int
    height: int
    method: Method


#: Spec: "Servers SHOULD produce thumbnails with the following dimensions and methods".
COMMON_THUMBNAILS: tuple[ThumbnailSpec, ...] = (
    ThumbnailSpec(32, 32, "crop"),
    ThumbnailSpec(96, 96, "crop"),
    ThumbnailSpec(320, 240, "scale"),
    ThumbnailSpec(640, 480, "scale"),
    ThumbnailSpec(800, 600, "scale"),
)


@dataclass(frozen=True, slots=True)
class Geometry:
    """Resize the source to ``scaled``, then cut ``box`` (left, top, right, bottom)."""

    scaled_width: int
    scaled_height: int
    box: tuple[int, int, int, int]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def clamp_request(width: int, height: int) -> tuple[int, int]:
    return min(width, MAX_DIMENSION), min(height, MAX_DIMENSION)


def choose_thumbnail(
    width: int, height: int, method: Method, source_width: int, source_height: int
) -> ThumbnailSpec | None:
    """The thumbnail that answers a request for ``width`` x ``height`` by
    ``method`` of a ``source_width`` x ``source_height`` image; None when the
    source is no bigger than the request (answer with the original)."""
    if width < 1 or height < 1:
        raise ValueError("thumbnail sizes are positive")
    width, height = clamp_request(width, height)
    if source_width <= width and source_height <= height:
        return None
    for spec in COMMON_THUMBNAILS:
        if spec.method != method or spec.width < width or spec.height < height:
            continue
        if method == "crop" and spec.width * height != spec.height * width:
            continue  # a crop must keep the aspect ratio asked for
        return spec
    return ThumbnailSpec(width, height, method)


def is_common(spec: ThumbnailSpec) -> bool:
    return spec in COMMON_THUMBNAILS


def geometry(spec: ThumbnailSpec, source_width: int, source_height: int) -> Geometry:
    """How to make ``spec`` from a source of that size, never upscaling."""
    if source_width < 1 or source_height < 1:
        raise ValueError("images have positive sizes")
    if spec.method == "scale":
        factor = min(spec.width / source_width, spec.height / source_height, 1.0)
    else:
        factor = min(max(spec.width / source_width, spec.height / source_height), 1.0)
    scaled_width = max(1, min(source_width, round(source_width * factor)))
    scaled_height = max(1, min(source_height, round(source_height * factor)))
    if spec.method == "scale":
        return Geometry(scaled_width, scaled_height, (0, 0, scaled_width, scaled_height))
    out_width = min(spec.width, scaled_width)
    out_height = min(spec.height, scaled_height)
    left = (scaled_width - out_width) // 2
    top = (scaled_height - out_height) // 2
    return Geometry(scaled_width, scaled_height, (left, top, left + out_width, top + out_height))


def decode_size_needed(
    specs: Sequence[ThumbnailSpec], source_width: int, source_height: int
) -> tuple[int, int]:
    """The smallest decoded size that every spec can be made from (a JPEG can
    be decoded at 1/2, 1/4 or 1/8 scale when that is enough)."""
    width = height = 1
    for spec in specs:
        shape = geometry(spec, source_width, source_height)
        width = max(width, shape.scaled_width)
        height = max(height, shape.scaled_height)
    return width, height
