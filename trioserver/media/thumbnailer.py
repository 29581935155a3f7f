"""Thumbnails of local media: the spec's common sizes made once an image is
uploaded, any other size made on demand; all kept in ``media_thumbnails``.

Pillow work (:mod:`trioserver.media.images`) runs through a
:class:`~trioserver.util.blocking.BlockingRunner` with its own small capacity
limiter, so thumbnailing never takes every worker thread, and runs inline
(deterministically) when the database does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import trio

from trioserver.db import Database
from trioserver.db import media as sql
from trioserver.media.headers import base_content_type
from trioserver.media.images import ImageTooLarge, Thumbnail, ThumbnailRefused, probe, render
from trioserver.media.sizing import (
    COMMON_THUMBNAILS,
    Method,
    ThumbnailSpec,
    choose_thumbnail,
    is_common,
)
from trioserver.protocol.errors import MatrixError
from trioserver.util.blocking import BlockingRunner
from trioserver.util.clock import Clock

log = logging.getLogger(__name__)

#: Larger sources are not thumbnailed (413 M_TOO_LARGE, spec: "Homeservers
#: should not attempt to generate thumbnails for images that are too large").
MAX_SOURCE_BYTES = 20 * 1024 * 1024
#: Thumbnails of sizes outside the common ones kept per media; past this they
#: are made for the request and not stored (a client cannot fill the disk by
#: asking for every size there is).
MAX_STORED_OTHER_SIZES = 16
#: Image decodes running at once.
CONCURRENT_DECODES = 2
#: Types answered with the original when it is no bigger than the request.
_ORIGINAL_AS_THUMBNAIL = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def _refused(refusal: sql.ThumbnailRefusal) -> MatrixError:
    if refusal == "too_large":
        return MatrixError("M_TOO_LARGE", "Content is too large to thumbnail")
    return MatrixError("M_UNKNOWN", "Cannot generate thumbnails for the requested content")


@dataclass(frozen=True, slots=True)
class ThumbnailStatistics:
    generated: int  #: thumbnails made
    refused: int  #: images found not thumbnailable


class Thumbnailer:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._runner = BlockingRunner(
            inline=db.inline, limiter=trio.CapacityLimiter(CONCURRENT_DECODES)
        )
        self._generated = 0
        self._refused = 0

    def statistics(self) -> ThumbnailStatistics:
        return ThumbnailStatistics(self._generated, self._refused)

    # -- the common sizes, after an upload ---------------------------------

    async def make_common(self, nid: sql.MediaNID) -> None:
        """Make the spec's common thumbnails of a newly uploaded image (a
        source that is no image is remembered as such, and that is all)."""
        row = await self._db.run_read(sql.get_media_by_nid_txn, nid)
        if row is None or row.state != "complete" or not _is_image_type(row):
            return
        try:
            self._check_source(row)
            data = await self._db.run_read(sql.read_content_txn, row.nid)
            row = await self._describe(row, data)
            made = await self._runner.run(_render_static, data, COMMON_THUMBNAILS)
        except MatrixError:
            return  # remembered by _describe where it is permanent
        except ThumbnailRefused as refusal:
            await self._remember_refusal(row, refusal)
            return
        await self._store(row.nid, [(t, False) for t in made])

    # -- any size, on request ----------------------------------------------

    async def thumbnail(
        self, row: sql.MediaRow, width: int, height: int, method: Method, animated: bool
    ) -> sql.StoredThumbnail | None:
        """The thumbnail answering a request; None to answer with the original
        (it is no bigger than asked for). Raises the spec's ``400 M_UNKNOWN``
        for content that is no image we decode and ``413 M_TOO_LARGE`` for
        one too large to decode."""
        if not _is_image_type(row):
            raise _refused("unsupported")
        self._check_source(row)
        data: bytes | None = None
        if row.image_width is None:
            data = await self._db.run_read(sql.read_content_txn, row.nid)
            row = await self._describe(row, data)
        assert row.image_width is not None and row.image_height is not None
        moving = bool(animated and row.image_animated)
        spec = choose_thumbnail(width, height, method, row.image_width, row.image_height)
        if spec is None:
            base = base_content_type(row.content_type or "")
            if base in _ORIGINAL_AS_THUMBNAIL and (moving or not row.image_animated):
                return None
            spec = ThumbnailSpec(row.image_width, row.image_height, "scale")
        found = await self._db.run_read(
            sql.get_thumbnail_txn, row.nid, spec.width, spec.height, spec.method, moving
        )
        if found is not None:
            return found
        if data is None:
            data = await self._db.run_read(sql.read_content_txn, row.nid)
        try:
            made = await self._runner.run(_render_one, data, spec, moving)
        except ThumbnailRefused as refusal:
            await self._remember_refusal(row, refusal)
            raise _refused(_kind(refusal)) from None
        stored = _stored(made, moving)
        if is_common(spec) or (
            await self._db.run_read(sql.count_thumbnails_txn, row.nid)
            < len(COMMON_THUMBNAILS) + MAX_STORED_OTHER_SIZES
        ):
            await self._store(row.nid, [(made, moving)])
        return stored

    # -- helpers -------------------------------------------------------------

    def _check_source(self, row: sql.MediaRow) -> None:
        if row.thumbnail_refusal is not None:
            raise _refused(row.thumbnail_refusal)
        if (row.length or 0) > MAX_SOURCE_BYTES:
            raise _refused("too_large")

    async def _describe(self, row: sql.MediaRow, data: bytes) -> sql.MediaRow:
        """Look at the image once and remember its size (or why it is refused)."""
        try:
            info = await self._runner.run(probe, data)
        except ThumbnailRefused as refusal:
            await self._remember_refusal(row, refusal)
            raise _refused(_kind(refusal)) from None
        await self._db.run_write(
            sql.set_image_info_txn, row.nid, info.width, info.height, info.animated, None
        )
        found = await self._db.run_read(sql.get_media_by_nid_txn, row.nid)
        if found is None:
            raise MatrixError("M_NOT_FOUND", "Media not found")
        return found

    async def _remember_refusal(self, row: sql.MediaRow, refusal: ThumbnailRefused) -> None:
        self._refused += 1
        log.info("media %s/%s cannot be thumbnailed: %s", row.origin, row.media_id, refusal)
        if refusal.permanent:
            await self._db.run_write(
                sql.set_image_info_txn,
                row.nid,
                row.image_width,
                row.image_height,
                row.image_animated,
                _kind(refusal),
            )

    async def _store(self, nid: sql.MediaNID, made: list[tuple[Thumbnail, bool]]) -> None:
        self._generated += len(made)
        thumbnails = [_stored(thumbnail, moving) for thumbnail, moving in made]
        await self._db.run_write(sql.store_thumbnails_txn, nid, thumbnails, self._clock.time_ms())


def _kind(refusal: ThumbnailRefused) -> sql.ThumbnailRefusal:
    return "too_large" if isinstance(refusal, ImageTooLarge) else "unsupported"


def _is_image_type(row: sql.MediaRow) -> bool:
    return base_content_type(row.content_type or "").startswith("image/")


def _stored(thumbnail: Thumbnail, moving: bool) -> sql.StoredThumbnail:
    spec = thumbnail.spec
    return sql.StoredThumbnail(
        spec.width, spec.height, spec.method, moving, thumbnail.content_type,
        thumbnail.width, thumbnail.height, thumbnail.data,
    )  # fmt: skip


def _render_static(data: bytes, specs: tuple[ThumbnailSpec, ...]) -> list[Thumbnail]:
    return render(data, specs, animated=False)


def _render_one(data: bytes, spec: ThumbnailSpec, animated: bool) -> Thumbnail:
    return render(data, [spec], animated=animated)[0]
