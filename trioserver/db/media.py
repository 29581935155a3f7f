"""SQL of the media repository: ``media``, ``media_chunks``, ``media_thumbnails``
and ``media_url_previews`` (schema: ``sql/delta/0002/04_media.sql``).

Content is stored in chunks of ``media.chunk_size`` bytes, one row each, so
that every write job stays small (the single writer is never held for long)
and a byte range maps to a few chunks by arithmetic. A row is served only
once it is ``complete``; chunks of unfinished rows are deleted in bounded
batches by :func:`discard_chunks_txn`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NewType

MediaNID = NewType("MediaNID", int)

MediaState = Literal["pending", "uploading", "complete"]
ClaimOutcome = Literal["claimed", "not_found", "expired", "forbidden", "exists"]
ThumbnailRefusal = Literal["unsupported", "too_large"]


@dataclass(frozen=True, slots=True)
class MediaRow:
    nid: MediaNID
    origin: str
    media_id: str
    remote: bool
    user_id: str | None
    state: MediaState
    content_type: str | None
    upload_name: str | None
    length: int | None
    chunk_size: int
    sha256: bytes | None
    created_ts: int
    unused_expires_ts: int | None
    completed_ts: int | None
    image_width: int | None
    image_height: int | None
    image_animated: bool | None
    thumbnail_refusal: ThumbnailRefusal | None


@dataclass(frozen=True, slots=True)
class StoredThumbnail:
    width: int  #: the size asked for (crop: exact; scale: bounding box)
    height: int
    method: str
    animated: bool
    content_type: str
    actual_width: int
    actual_height: int
    data: bytes


_MEDIA_COLUMNS = (
    "media_nid, origin, media_id, remote, user_id, state, content_type, upload_name,"
    " length, chunk_size, sha256, created_ts, unused_expires_ts, completed_ts,"
    " image_width, image_height, image_animated, thumbnail_refusal"
)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _media_row(row: Any) -> MediaRow:
    return MediaRow(
        nid=MediaNID(int(row[0])),
        origin=str(row[1]),
        media_id=str(row[2]),
        remote=bool(row[3]),
        user_id=row[4],
        state=row[5],
        content_type=row[6],
        upload_name=row[7],
        length=_opt_int(row[8]),
        chunk_size=int(row[9]),
        sha256=None if row[10] is None else bytes(row[10]),
        created_ts=int(row[11]),
        unused_expires_ts=_opt_int(row[12]),
        completed_ts=_opt_int(row[13]),
        image_width=_opt_int(row[14]),
        image_height=_opt_int(row[15]),
        image_animated=None if row[16] is None else bool(row[16]),
        thumbnail_refusal=row[17],
    )


# -- media rows ----------------------------------------------------------------


def get_media_txn(conn: sqlite3.Connection, origin: str, media_id: str) -> MediaRow | None:
    row = conn.execute(
        f"SELECT {_MEDIA_COLUMNS} FROM media WHERE origin = ? AND media_id = ?",
        (origin, media_id),
    ).fetchone()
    return None if row is None else _media_row(row)


def get_media_by_nid_txn(conn: sqlite3.Connection, nid: MediaNID) -> MediaRow | None:
    row = conn.execute(f"SELECT {_MEDIA_COLUMNS} FROM media WHERE media_nid = ?", (nid,))
    found = row.fetchone()
    return None if found is None else _media_row(found)


def count_pending_txn(conn: sqlite3.Connection, user_id: str, now_ts: int) -> int:
    """Created URIs of ``user_id`` not uploaded yet and not expired."""
    row = conn.execute(
        "SELECT count(*) FROM media WHERE user_id = ? AND state = 'pending'"
        " AND unused_expires_ts > ?",
        (user_id, now_ts),
    ).fetchone()
    return int(row[0])


def create_pending_txn(
    conn: sqlite3.Connection,
    origin: str,
    media_id: str,
    user_id: str,
    chunk_size: int,
    now_ts: int,
    unused_expires_ts: int,
    max_pending: int,
) -> bool:
    """Reserve ``mxc://origin/media_id`` for a later upload by ``user_id``;
    False (nothing written) if the user already has ``max_pending`` pending."""
    if count_pending_txn(conn, user_id, now_ts) >= max_pending:
        return False
    conn.execute(
        "INSERT INTO media (origin, media_id, user_id, state, chunk_size, created_ts,"
        " unused_expires_ts) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
        (origin, media_id, user_id, chunk_size, now_ts, unused_expires_ts),
    )
    return True


def start_upload_txn(
    conn: sqlite3.Connection,
    origin: str,
    media_id: str,
    user_id: str | None,
    content_type: str,
    upload_name: str | None,
    chunk_size: int,
    now_ts: int,
) -> MediaNID:
    """A new row in state ``uploading`` (POST /upload: the ID is fresh)."""
    cursor = conn.execute(
        "INSERT INTO media (origin, media_id, user_id, state, content_type, upload_name,"
        " chunk_size, created_ts) VALUES (?, ?, ?, 'uploading', ?, ?, ?, ?)",
        (origin, media_id, user_id, content_type, upload_name, chunk_size, now_ts),
    )
    assert cursor.lastrowid is not None
    return MediaNID(cursor.lastrowid)


def claim_pending_txn(
    conn: sqlite3.Connection,
    origin: str,
    media_id: str,
    user_id: str,
    content_type: str,
    upload_name: str | None,
    now_ts: int,
) -> tuple[ClaimOutcome, MediaNID | None]:
    """Move a created URI from ``pending`` to ``uploading`` for its creator
    (PUT /upload/{serverName}/{mediaId}): each URI takes one upload only."""
    row = get_media_txn(conn, origin, media_id)
    if row is None or row.remote:
        return "not_found", None
    if row.user_id != user_id:
        return "forbidden", None
    if row.state != "pending":
        return "exists", None
    if row.unused_expires_ts is not None and row.unused_expires_ts <= now_ts:
        return "expired", None
    conn.execute(
        "UPDATE media SET state = 'uploading', content_type = ?, upload_name = ?"
        " WHERE media_nid = ?",
        (content_type, upload_name, row.nid),
    )
    return "claimed", row.nid


def write_chunk_txn(conn: sqlite3.Connection, nid: MediaNID, seq: int, data: bytes) -> None:
    conn.execute(
        "INSERT INTO media_chunks (media_nid, seq, data) VALUES (?, ?, ?)", (nid, seq, data)
    )


def stored_bytes_txn(conn: sqlite3.Connection, user_id: str) -> int:
    """Bytes of complete media uploaded by ``user_id`` (the quota's measure)."""
    row = conn.execute(
        "SELECT coalesce(sum(length), 0) FROM media WHERE user_id = ? AND state = 'complete'",
        (user_id,),
    ).fetchone()
    return int(row[0])


def finish_upload_txn(
    conn: sqlite3.Connection,
    nid: MediaNID,
    length: int,
    sha256: bytes,
    chunks: int,
    now_ts: int,
    quota_bytes: int | None,
) -> bool:
    """Mark an upload complete once all ``chunks`` are stored; False (nothing
    changed) if it would take its uploader over ``quota_bytes``."""
    row = get_media_by_nid_txn(conn, nid)
    if row is None or row.state != "uploading":
        raise LookupError(f"media {nid} is not being uploaded")
    stored = conn.execute(
        "SELECT count(*), coalesce(sum(length(data)), 0) FROM media_chunks WHERE media_nid = ?",
        (nid,),
    ).fetchone()
    if (int(stored[0]), int(stored[1])) != (chunks, length):
        raise ValueError(f"media {nid}: stored chunks do not add up to the upload")
    over = quota_bytes is not None and row.user_id is not None
    if over and stored_bytes_txn(conn, row.user_id or "") + length > (quota_bytes or 0):
        return False
    conn.execute(
        "UPDATE media SET state = 'complete', length = ?, sha256 = ?, completed_ts = ?,"
        " unused_expires_ts = NULL WHERE media_nid = ?",
        (length, sha256, now_ts, nid),
    )
    return True


def discard_chunks_txn(conn: sqlite3.Connection, nid: MediaNID, limit: int) -> int:
    """Delete up to ``limit`` chunks of ``nid``; how many were deleted."""
    cursor = conn.execute(
        "DELETE FROM media_chunks WHERE media_nid = ? AND seq IN"
        " (SELECT seq FROM media_chunks WHERE media_nid = ? ORDER BY seq DESC LIMIT ?)",
        (nid, nid, limit),
    )
    return cursor.rowcount


def abandon_upload_txn(conn: sqlite3.Connection, nid: MediaNID, now_ts: int) -> None:
    """After a failed upload (its chunks discarded): a URI made by /create goes
    back to ``pending`` while it has not expired; any other row is deleted."""
    row = get_media_by_nid_txn(conn, nid)
    if row is None or row.state == "complete":
        return
    if row.unused_expires_ts is not None and row.unused_expires_ts > now_ts:
        conn.execute(
            "UPDATE media SET state = 'pending', content_type = NULL, upload_name = NULL"
            " WHERE media_nid = ?",
            (nid,),
        )
    else:
        conn.execute("DELETE FROM media WHERE media_nid = ?", (nid,))


def unfinished_txn(
    conn: sqlite3.Connection, uploading_before_ts: int, now_ts: int, limit: int
) -> list[MediaNID]:
    """Rows to clean up: uploads started before ``uploading_before_ts`` (left by a
    crash or stuck), and created URIs whose upload deadline has passed."""
    rows = conn.execute(
        # "state != 'complete'" lets SQLite use the partial index media_unfinished.
        "SELECT media_nid FROM media WHERE state != 'complete' AND"
        " ((state = 'uploading' AND created_ts < ?)"
        " OR (state = 'pending' AND unused_expires_ts <= ?)) LIMIT ?",
        (uploading_before_ts, now_ts, limit),
    )
    return [MediaNID(int(nid)) for (nid,) in rows]


# -- content -------------------------------------------------------------------


def read_chunk_txn(
    conn: sqlite3.Connection, nid: MediaNID, seq: int, start: int, length: int
) -> bytes:
    """``length`` bytes of chunk ``seq`` from offset ``start`` (SQLite cuts the
    slice, so a range's edge chunks cost no more than their slice)."""
    row = conn.execute(
        "SELECT substr(data, ?, ?) FROM media_chunks WHERE media_nid = ? AND seq = ?",
        (start + 1, length, nid, seq),
    ).fetchone()
    if row is None:
        raise LookupError(f"media {nid} has no chunk {seq}")
    data = bytes(row[0])
    if len(data) != length:
        raise LookupError(f"media {nid} chunk {seq} is shorter than expected")
    return data


# -- images and thumbnails -------------------------------------------------------


def set_image_info_txn(
    conn: sqlite3.Connection,
    nid: MediaNID,
    width: int | None,
    height: int | None,
    animated: bool | None,
    refusal: ThumbnailRefusal | None,
) -> None:
    conn.execute(
        "UPDATE media SET image_width = ?, image_height = ?, image_animated = ?,"
        " thumbnail_refusal = ? WHERE media_nid = ?",
        (width, height, None if animated is None else int(animated), refusal, nid),
    )


def get_thumbnail_txn(
    conn: sqlite3.Connection, nid: MediaNID, width: int, height: int, method: str, animated: bool
) -> StoredThumbnail | None:
    row = conn.execute(
        "SELECT content_type, actual_width, actual_height, data FROM media_thumbnails"
        " WHERE media_nid = ? AND width = ? AND height = ? AND method = ? AND animated = ?",
        (nid, width, height, method, int(animated)),
    ).fetchone()
    if row is None:
        return None
    content_type, actual_width, actual_height, data = row
    return StoredThumbnail(
        width, height, method, animated, str(content_type), int(actual_width),
        int(actual_height), bytes(data),
    )  # fmt: skip


def count_thumbnails_txn(conn: sqlite3.Connection, nid: MediaNID) -> int:
    row = conn.execute("SELECT count(*) FROM media_thumbnails WHERE media_nid = ?", (nid,))
    return int(row.fetchone()[0])


def store_thumbnails_txn(
    conn: sqlite3.Connection, nid: MediaNID, thumbnails: Sequence[StoredThumbnail], now_ts: int
) -> None:
    """Store thumbnails of a complete media row (one made concurrently wins)."""
    conn.executemany(
        "INSERT OR IGNORE INTO media_thumbnails (media_nid, width, height, method, animated,"
        " content_type, actual_width, actual_height, data, created_ts)"
        " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS"
        " (SELECT 1 FROM media WHERE media_nid = ? AND state = 'complete')",
        [
            (
                nid,
                t.width,
                t.height,
                t.method,
                int(t.animated),
                t.content_type,
                t.actual_width,
                t.actual_height,
                t.data,
                now_ts,
                nid,
            )
            for t in thumbnails
        ],
    )


# -- URL previews ----------------------------------------------------------------


def get_preview_txn(conn: sqlite3.Connection, url: str, now_ts: int) -> str | None:
    """The cached OpenGraph JSON of ``url`` if still fresh."""
    row = conn.execute(
        "SELECT og_json FROM media_url_previews WHERE url = ? AND expires_ts > ?", (url, now_ts)
    ).fetchone()
    return None if row is None else str(row[0])


def store_preview_txn(
    conn: sqlite3.Connection, url: str, og_json: str, now_ts: int, expires_ts: int
) -> None:
    conn.execute(
        "INSERT INTO media_url_previews (url, fetched_ts, expires_ts, og_json)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET fetched_ts = excluded.fetched_ts,"
        " expires_ts = excluded.expires_ts, og_json = excluded.og_json",
        (url, now_ts, expires_ts, og_json),
    )


def delete_expired_previews_txn(conn: sqlite3.Connection, now_ts: int) -> int:
    cursor = conn.execute("DELETE FROM media_url_previews WHERE expires_ts <= ?", (now_ts,))
    return cursor.rowcount


def read_content_txn(conn: sqlite3.Connection, nid: MediaNID) -> bytes:
    """The whole content of a (small) media row: for the thumbnailer only,
    which must hold an image in memory to decode it anyway."""
    rows = conn.execute(
        "SELECT data FROM media_chunks WHERE media_nid = ? ORDER BY seq", (nid,)
    ).fetchall()
    return b"".join(bytes(data) for (data,) in rows)
