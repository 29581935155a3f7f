"""Image work with Pillow: looking at an upload and making thumbnails.

Synchronous and CPU-bound, over bytes in memory (no I/O): callers run these
in a worker thread (``BlockingRunner``). Every input is hostile until
decoded (spec: "Clients or remote homeservers may try to upload malicious
files targeting vulnerabilities in either the homeserver thumbnailing or
the client decoders"), so:

* only a few common formats are ever opened (no EPS, PDF, ... plugins);
* the declared size is checked before any pixel is decoded (a decompression
  bomb is refused with :class:`ImageTooLarge`, whatever ``PIL.Image.MAX_IMAGE_PIXELS``
  says; Pillow's own ``DecompressionBombError`` is caught as well);
* JPEGs are decoded at the smallest scale the thumbnails need;
* animations are bounded in frames and in decoded pixels;
* any failure to decode is :class:`NotAnImage`, never an unexpected error.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence

from trioserver.media.sizing import ThumbnailSpec, decode_size_needed, geometry

#: The formats we decode; everything else is "not an image" to us.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
#: The declared size past which we decode nothing (below Pillow's own
#: warning threshold of about 89 megapixels).
MAX_DECLARED_PIXELS = 64_000_000
#: The most pixels decoded at once (a JPEG may be decoded at a smaller scale).
MAX_DECODED_PIXELS = 32_000_000
#: Animated thumbnails: at most this many frames, and this many source
#: pixels decoded over all frames; past that the thumbnail is static.
MAX_FRAMES = 100
MAX_ANIMATION_PIXELS = 100_000_000
#: An animated thumbnail bigger than this is replaced by a static one.
MAX_ANIMATED_BYTES = 4 * 1024 * 1024
JPEG_QUALITY = 80
_ROTATING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height


class ThumbnailRefused(Exception):
    """The content cannot be thumbnailed. ``permanent``: the same bytes will
    always fail the same way, so the refusal may be remembered."""

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent


class NotAnImage(ThumbnailRefused):
    """Not an image we decode, or a corrupt one."""


class ImageTooLarge(ThumbnailRefused):
    """Too many pixels to decode safely."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int  #: as displayed (EXIF orientation applied)
    height: int
    animated: bool
    format: str


@dataclass(frozen=True, slots=True)
class Thumbnail:
    spec: ThumbnailSpec
    animated: bool
    content_type: str
    width: int
    height: int
    data: bytes


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from None
    except Exception as exc:  # Pillow raises many kinds of errors on bad input
        raise NotAnImage(f"not an image we can read ({type(exc).__name__})") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise NotAnImage("the image has no pixels")
    if width * height > MAX_DECLARED_PIXELS:
        raise ImageTooLarge(f"the image is {width}x{height} pixels")
    return image


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:
        return 1


def _display_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    if _orientation(image) in _ROTATING_ORIENTATIONS:
        return height, width
    return width, height


def _is_animated(image: Image.Image) -> bool:
    try:
        return bool(getattr(image, "is_animated", False))
    except Exception:
        return False


def probe(data: bytes) -> ImageInfo:
    """What the image is, from its header (no pixels decoded)."""
    image = _open(data)
    with image:
        width, height = _display_size(image)
        return ImageInfo(width, height, _is_animated(image), str(image.format))


def render(data: bytes, specs: Sequence[ThumbnailSpec], *, animated: bool) -> list[Thumbnail]:
    """Thumbnails of ``data`` for each spec, decoding the image once; animated
    ones (WebP) when ``animated`` and the image moves, within the limits."""
    try:
        image = _open(data)
        with image:
            if animated and _is_animated(image):
                moving = [_animated(image, spec) for spec in specs]
                if all(t is not None for t in moving):
                    return [t for t in moving if t is not None]
                image.seek(0)
            return _static(image, specs)
    except ThumbnailRefused:
        raise
    except MemoryError:
        raise ImageTooLarge("out of memory while decoding", permanent=False) from None
    except Exception as exc:
        raise NotAnImage(f"cannot decode the image ({type(exc).__name__})") from None


def _static(image: Image.Image, specs: Sequence[ThumbnailSpec]) -> list[Thumbnail]:
    source_format = image.format
    width, height = _display_size(image)
    rotated = (width, height) != image.size
    if source_format == "JPEG":
        need_width, need_height = decode_size_needed(specs, width, height)
        image.draft("RGB", (need_height, need_width) if rotated else (need_width, need_height))
    if image.size[0] * image.size[1] > MAX_DECODED_PIXELS:
        raise ImageTooLarge(f"decoding would take {image.size[0]}x{image.size[1]} pixels")
    image.load()
    ImageOps.exif_transpose(image, in_place=True)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    frame = image.convert("RGBA" if has_alpha else "RGB")
    as_jpeg = source_format == "JPEG" and not has_alpha
    thumbnails = []
    for spec in specs:
        shape = geometry(spec, width, height)
        out = frame
        if frame.size != (shape.scaled_width, shape.scaled_height):
            out = frame.resize(
                (shape.scaled_width, shape.scaled_height),
                Image.Resampling.LANCZOS,
                reducing_gap=3.0,
            )
        if shape.box != (0, 0, shape.scaled_width, shape.scaled_height):
            out = out.crop(shape.box)
        buffer = io.BytesIO()
        if as_jpeg:
            out.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
        else:
            out.save(buffer, "PNG", optimize=False, compress_level=6)
        content_type = "image/jpeg" if as_jpeg else "image/png"
        thumbnails.append(
            Thumbnail(spec, False, content_type, out.width, out.height, buffer.getvalue())
        )
    return thumbnails


def _animated(image: Image.Image, spec: ThumbnailSpec) -> Thumbnail | None:
    """An animated WebP thumbnail, or None when the animation is too big."""
    width, height = image.size
    frame_count = int(getattr(image, "n_frames", 1))
    if frame_count > MAX_FRAMES or frame_count * width * height > MAX_ANIMATION_PIXELS:
        return None
    shape = geometry(spec, width, height)
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        out = frame.convert("RGBA")
        if out.size != (shape.scaled_width, shape.scaled_height):
            out = out.resize((shape.scaled_width, shape.scaled_height), Image.Resampling.LANCZOS)
        if shape.box != (0, 0, shape.scaled_width, shape.scaled_height):
            out = out.crop(shape.box)
        frames.append(out)
        durations.append(max(20, int(frame.info.get("duration", 100) or 100)))
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=int(image.info.get("loop", 0) or 0),
        quality=75,
    )
    if buffer.tell() > MAX_ANIMATED_BYTES:
        return None
    out_width, out_height = frames[0].size
    return Thumbnail(spec, True, "image/webp", out_width, out_height, buffer.getvalue())
