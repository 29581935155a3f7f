"""The media repository: uploads streamed into the database file in chunks,
downloads streamed out of it, thumbnails, and the clean-up of what an
interrupted upload leaves (spec: client-server API, "Content repository").

Storage contract (see :mod:`trioserver.db.media`):

* An upload is received as an async iterable of byte strings and cut into
  :data:`CHUNK_SIZE` chunks; each chunk is its own small write job, so the
  single writer is never held for long and memory stays at about one chunk
  (plus what the HTTP layer buffers) whatever the size of the file.
* The row becomes ``complete`` in a last write job that checks that the
  chunks add up and the uploader's quota. Only complete rows are served.
* A failed or cancelled upload deletes its chunks in bounded batches (in a
  shielded scope); what a crash leaves behind is deleted by :meth:`run` on
  the next start, and expired ``/create`` reservations by its periodic sweep.
* A download reads one chunk per read job (WAL readers: never behind the writer).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

import trio

from trioserver.db import Database, DatabaseClosed
from trioserver.db import media as sql
from trioserver.media.headers import base_content_type
from trioserver.media.ids import is_valid_mxc_part, mxc_uri, new_media_id
from trioserver.media.ranges import ByteRange
from trioserver.media.sizing import Method
from trioserver.media.thumbnailer import Thumbnailer
from trioserver.protocol.errors import MatrixError
from trioserver.util.clock import Clock

log = logging.getLogger(__name__)

#: Bytes per stored chunk: big enough that a 50 MiB file is 200 rows, small
#: enough that writing one is a short job and reading one a small buffer.
CHUNK_SIZE = 256 * 1024
#: How long a URI made by ``POST /media/v1/create`` waits for its upload
#: (spec: "The recommended default expiration is 24 hours").
UNUSED_EXPIRY_MS = 24 * 3600 * 1000
#: Created URIs a user may have waiting for an upload at once (then 429).
MAX_PENDING_PER_USER = 10
#: An upload receiving nothing for this long is abandoned.
UPLOAD_IDLE_TIMEOUT_S = 60.0
#: ``timeout_ms`` of downloads: default and maximum (spec: "The content
#: repository SHOULD impose a maximum value for this parameter").
DEFAULT_WAIT_MS = 20_000
MAX_WAIT_MS = 60_000
#: Chunks deleted per write job when discarding an unfinished upload.
DISCARD_BATCH = 32
#: How often expired reservations and stale uploads are swept.
SWEEP_INTERVAL_S = 600.0
#: An upload still unfinished after this long is stale (never one in progress here).
STALE_UPLOAD_MS = 24 * 3600 * 1000
#: Images waiting for their common thumbnails (more are left to on-demand).
THUMBNAIL_QUEUE = 100


def not_found() -> MatrixError:
    return MatrixError("M_NOT_FOUND", "Media not found")


@dataclass(frozen=True, slots=True)
class MediaStatistics:
    uploads_in_progress: int
    uploads_completed: int
    uploads_failed: int
    thumbnail_jobs_waiting: int
    thumbnails_generated: int
    unfinished_cleaned: int


@dataclass(frozen=True, slots=True)
class Created:
    content_uri: str
    unused_expires_at: int


class _Waiting:
    """Downloads waiting for a created URI's upload to complete."""

    __slots__ = ("event", "waiters")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.waiters = 0


class MediaRepository:
    """Local media of one server. Start :meth:`run` as a service (clean-up and
    the common thumbnails of new images); everything else works without it."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        server_name: str,
        *,
        max_upload_bytes: int,
        quota_bytes: int | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self.server_name = server_name
        self.max_upload_bytes = max_upload_bytes
        self.quota_bytes = quota_bytes
        self.thumbnails = Thumbnailer(db, clock)
        self._waiting: dict[str, _Waiting] = {}
        self._active: set[sql.MediaNID] = set()
        self._jobs_send, self._jobs_receive = trio.open_memory_channel[sql.MediaNID](
            THUMBNAIL_QUEUE
        )
        self._jobs_outstanding = 0
        self._idle = trio.Event()
        self._idle.set()
        self._scope: trio.CancelScope | None = None
        self._completed = 0
        self._failed = 0
        self._cleaned = 0

    # -- service ---------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Delete what a previous run left unfinished, then make thumbnails of
        new images and sweep expired reservations until :meth:`stop`."""
        with trio.CancelScope() as scope:
            self._scope = scope
            await self.clean_up(stale_before_ms=self._clock.time_ms() + 1)
            task_status.started()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._sweep_forever)
                await self._make_thumbnails_forever()

    def stop(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    async def _sweep_forever(self) -> None:
        while True:
            await trio.sleep(SWEEP_INTERVAL_S)
            try:
                await self.clean_up(stale_before_ms=self._clock.time_ms() - STALE_UPLOAD_MS)
            except DatabaseClosed:
                return
            except Exception:
                log.exception("sweeping unfinished media failed")

    async def _make_thumbnails_forever(self) -> None:
        async for nid in self._jobs_receive:
            try:
                await self.thumbnails.make_common(nid)
            except DatabaseClosed:
                return
            except Exception:
                log.exception("making the thumbnails of media %d failed", nid)
            finally:
                self._job_done()

    def _schedule_thumbnails(self, nid: sql.MediaNID) -> None:
        try:
            self._jobs_send.send_nowait(nid)
        except trio.WouldBlock:
            return  # busy: thumbnails will be made when asked for
        self._jobs_outstanding += 1
        if self._idle.is_set():
            self._idle = trio.Event()

    def _job_done(self) -> None:
        self._jobs_outstanding -= 1
        if self._jobs_outstanding == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        """Wait until no thumbnail job is waiting or running (tests, benchmarks)."""
        await self._idle.wait()

    def statistics(self) -> MediaStatistics:
        return MediaStatistics(
            uploads_in_progress=len(self._active),
            uploads_completed=self._completed,
            uploads_failed=self._failed,
            thumbnail_jobs_waiting=self._jobs_outstanding,
            thumbnails_generated=self.thumbnails.statistics().generated,
            unfinished_cleaned=self._cleaned,
        )

    # -- uploading ------------------------------------------------------------

    async def create(self, user_id: str) -> Created:
        """Reserve an ``mxc://`` URI for a later upload by ``user_id``
        (``POST /media/v1/create``)."""
        now = self._clock.time_ms()
        media_id = new_media_id()
        expires = now + UNUSED_EXPIRY_MS
        created = await self._db.run_write(
            sql.create_pending_txn,
            self.server_name,
            media_id,
            user_id,
            CHUNK_SIZE,
            now,
            expires,
            MAX_PENDING_PER_USER,
        )
        if not created:
            raise MatrixError("M_LIMIT_EXCEEDED", "Too many pending uploads: upload to those first")
        return Created(mxc_uri(self.server_name, media_id), expires)

    async def upload(
        self,
        user_id: str | None,
        body: AsyncIterable[bytes],
        *,
        content_type: str,
        upload_name: str | None,
        declared_length: int | None = None,
        media_id: str | None = None,
    ) -> str:
        """Store ``body`` as new media (or as the content of the created URI
        ``media_id``) and return its media ID once complete. ``user_id`` None:
        media the server makes itself (no quota)."""
        self._check_size(declared_length or 0)
        quota = self.quota_bytes if user_id is not None else None
        if quota is not None and user_id is not None:
            used = await self._db.run_read(sql.stored_bytes_txn, user_id)
            if used + (declared_length or 0) > quota:
                raise _over_quota()
        now = self._clock.time_ms()
        if media_id is None:
            media_id = new_media_id()
            nid = await self._db.run_write(
                sql.start_upload_txn,
                self.server_name,
                media_id,
                user_id,
                content_type,
                upload_name,
                CHUNK_SIZE,
                now,
            )
        else:
            nid = await self._claim(user_id, media_id, content_type, upload_name, now)
        self._active.add(nid)
        try:
            length, digest, chunks = await self._store_chunks(nid, body)
            finished = await self._db.run_write(
                sql.finish_upload_txn, nid, length, digest, chunks, self._clock.time_ms(), quota
            )
            if not finished:
                raise _over_quota()
        except BaseException:
            self._failed += 1
            with trio.CancelScope(shield=True):
                await self._discard(nid)
            self._wake(media_id)
            raise
        finally:
            self._active.discard(nid)
        self._completed += 1
        self._wake(media_id)
        if base_content_type(content_type).startswith("image/"):
            self._schedule_thumbnails(nid)
        return media_id

    async def _claim(
        self,
        user_id: str | None,
        media_id: str,
        content_type: str,
        upload_name: str | None,
        now: int,
    ) -> sql.MediaNID:
        if user_id is None:
            raise not_found()
        outcome, nid = await self._db.run_write(
            sql.claim_pending_txn,
            self.server_name,
            media_id,
            user_id,
            content_type,
            upload_name,
            now,
        )
        if outcome == "forbidden":
            raise MatrixError("M_FORBIDDEN", "This media ID was created by another user")
        if outcome == "exists":
            raise MatrixError("M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded")
        if outcome != "claimed" or nid is None:
            raise MatrixError("M_NOT_FOUND", "Unknown or expired media ID")
        return nid

    def _check_size(self, length: int) -> None:
        if length > self.max_upload_bytes:
            raise MatrixError(
                "M_TOO_LARGE", f"Uploads may be at most {self.max_upload_bytes} bytes"
            )

    async def _store_chunks(
        self, nid: sql.MediaNID, body: AsyncIterable[bytes]
    ) -> tuple[int, bytes, int]:
        """Write ``body`` as chunks; (length, sha256, chunk count)."""
        digest = hashlib.sha256()
        buffer = bytearray()
        length = 0
        seq = 0
        pieces = aiter(body)
        while True:
            with trio.move_on_after(UPLOAD_IDLE_TIMEOUT_S) as idle:
                try:
                    piece = await anext(pieces)
                except StopAsyncIteration:
                    break
            if idle.cancelled_caught:
                raise MatrixError("M_UNKNOWN", "The upload stalled", status=408)
            length += len(piece)
            self._check_size(length)
            digest.update(piece)
            buffer += piece
            while len(buffer) >= CHUNK_SIZE:
                await self._db.run_write(sql.write_chunk_txn, nid, seq, bytes(buffer[:CHUNK_SIZE]))
                del buffer[:CHUNK_SIZE]
                seq += 1
        if buffer:
            await self._db.run_write(sql.write_chunk_txn, nid, seq, bytes(buffer))
            seq += 1
        return length, digest.digest(), seq

    async def _discard(self, nid: sql.MediaNID) -> None:
        """Delete an unfinished upload's chunks, a batch per write job, then
        put its row back to ``pending`` (a created URI) or delete it. Logged,
        never raised: the next sweep or start finishes what fails here."""
        try:
            while await self._db.run_write(sql.discard_chunks_txn, nid, DISCARD_BATCH):
                pass
            await self._db.run_write(sql.abandon_upload_txn, nid, self._clock.time_ms())
        except DatabaseClosed:
            log.info("media %d left unfinished at shutdown; deleted on the next start", nid)
        except Exception:
            log.exception("discarding unfinished media %d failed", nid)

    async def clean_up(self, *, stale_before_ms: int) -> int:
        """Discard uploads started before ``stale_before_ms`` that are not in
        progress here (a created URI whose deadline has not passed goes back to
        ``pending``), and delete reservations whose deadline has passed; how many."""
        cleaned = 0
        skip = set(self._active)
        while True:
            now = self._clock.time_ms()
            found = await self._db.run_read(sql.unfinished_txn, stale_before_ms, now, 100)
            todo = [nid for nid in found if nid not in skip]
            if not todo:
                break
            for nid in todo:
                skip.add(nid)
                while await self._db.run_write(sql.discard_chunks_txn, nid, DISCARD_BATCH):
                    pass
                await self._db.run_write(sql.abandon_upload_txn, nid, self._clock.time_ms())
                cleaned += 1
        await self._db.run_write(sql.delete_expired_previews_txn, self._clock.time_ms())
        self._cleaned += cleaned
        if cleaned:
            log.info("deleted %d unfinished uploads", cleaned)
        return cleaned

    # -- downloading ----------------------------------------------------------

    async def get_media(self, server_name: str, media_id: str, *, wait_ms: int = 0) -> sql.MediaRow:
        """The complete media ``mxc://server_name/media_id``, waiting up to
        ``wait_ms`` for a created URI's upload (then ``504 M_NOT_YET_UPLOADED``).
        Remote media is ``404 M_NOT_FOUND`` until federation exists."""
        if server_name != self.server_name or not is_valid_mxc_part(server_name, media_id):
            raise not_found()
        deadline = trio.current_time() + min(max(wait_ms, 0), MAX_WAIT_MS) / 1000
        while True:
            waiting = self._waiting.setdefault(media_id, _Waiting())
            row = await self._db.run_read(sql.get_media_txn, server_name, media_id)
            if row is None or row.remote:
                self._forget(media_id, waiting)
                raise not_found()
            if row.state == "complete":
                self._forget(media_id, waiting)
                return row
            if row.unused_expires_ts is not None and row.unused_expires_ts <= self._clock.time_ms():
                self._forget(media_id, waiting)
                raise not_found()
            waiting.waiters += 1
            try:
                with trio.move_on_at(deadline):
                    await waiting.event.wait()
            finally:
                waiting.waiters -= 1
                self._forget(media_id, waiting)
            if trio.current_time() >= deadline:
                raise MatrixError("M_NOT_YET_UPLOADED", "Content has not yet been uploaded")

    def _wake(self, media_id: str) -> None:
        waiting = self._waiting.pop(media_id, None)
        if waiting is not None:
            waiting.event.set()

    def _forget(self, media_id: str, waiting: _Waiting) -> None:
        if waiting.waiters == 0 and self._waiting.get(media_id) is waiting:
            del self._waiting[media_id]

    async def read(self, row: sql.MediaRow, byte_range: ByteRange | None) -> AsyncIterator[bytes]:
        """The content of a complete row (or ``byte_range`` of it), a chunk at a time."""
        assert row.state == "complete" and row.length is not None
        if row.length == 0:
            return
        start, end = (
            (0, row.length - 1) if byte_range is None else (byte_range.start, byte_range.end)
        )
        size = row.chunk_size
        for seq in range(start // size, end // size + 1):
            first = max(start, seq * size)
            last = min(end, seq * size + size - 1)
            yield await self._db.run_read(
                sql.read_chunk_txn, row.nid, seq, first - seq * size, last - first + 1
            )

    async def thumbnail(
        self, row: sql.MediaRow, width: int, height: int, method: Method, animated: bool
    ) -> sql.StoredThumbnail | None:
        """See :meth:`Thumbnailer.thumbnail` (None: answer with the original)."""
        return await self.thumbnails.thumbnail(row, width, height, method, animated)


def _over_quota() -> MatrixError:
    return MatrixError("M_FORBIDDEN", "Your media storage quota is used up")
