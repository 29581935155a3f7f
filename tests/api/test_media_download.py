"""Downloads: headers, ranges, HEAD, the legacy endpoints and their freeze,
remote media, and streaming a large file through a real socket with flat memory."""

from __future__ import annotations

import hashlib
import sqlite3
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import trio

from tests.media.helpers import LEGACY, V1_MEDIA, errcode, upload
from trioserver.api.media import media_of
from trioserver.media.repository import CHUNK_SIZE
from trioserver.testing import TestHomeserver, open_test_homeserver

CSP = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
    "style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"
)


async def test_serving_headers(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    media_id = await upload(client, b"\x89PNG...", "image/png", "cat.png")
    for path, cache in [
        (f"{V1_MEDIA}/download/localhost/{media_id}", "private"),
        (f"{LEGACY}/download/localhost/{media_id}", "public"),
        (f"/_matrix/media/r0/download/localhost/{media_id}", "public"),
    ]:
        got = await client.get(path)
        assert got.status == 200, path
        assert got.headers["Content-Type"] == "image/png"
        assert got.headers["Content-Disposition"] == 'inline; filename="cat.png"'
        assert got.headers["Content-Security-Policy"] == CSP
        assert got.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert got.headers["Cache-Control"] == f"{cache}, max-age=31536000, immutable"
        assert got.headers["Accept-Ranges"] == "bytes"
        assert got.headers["Access-Control-Allow-Origin"] == "*"


async def test_legacy_downloads_need_no_token_and_can_be_frozen() -> None:
    for legacy_media in (True, False):
        async with open_test_homeserver(legacy_media=legacy_media) as hs:
            alice = await hs.register_user("alice")
            media_id = await upload(hs.client(alice.access_token), b"public?", "text/plain")
            anyone = hs.client()
            got = await anyone.get(f"{LEGACY}/download/localhost/{media_id}/x.txt")
            thumb = await anyone.get(f"{LEGACY}/thumbnail/localhost/{media_id}?width=1&height=1")
            if legacy_media:
                assert (got.status, got.body) == (200, b"public?")
                assert errcode(thumb) == (400, "M_UNKNOWN")  # text is no image
            else:
                assert errcode(got) == (404, "M_NOT_FOUND")
                assert errcode(thumb) == (404, "M_NOT_FOUND")
            authed = await hs.client(alice.access_token).get(
                f"{V1_MEDIA}/download/localhost/{media_id}"
            )
            assert authed.body == b"public?"


async def test_unknown_remote_and_invalid_media(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    media_id = await upload(client, b"x")
    for path in (
        f"{V1_MEDIA}/download/localhost/nosuchmedia",
        f"{V1_MEDIA}/download/matrix.org/{media_id}",  # remote: no federation yet
        f"{V1_MEDIA}/download/localhost/bad.id",
        f"{V1_MEDIA}/download/bad%20server/{media_id}",
        f"{V1_MEDIA}/thumbnail/matrix.org/{media_id}?width=32&height=32",
        f"{LEGACY}/download/localhost/nosuchmedia?allow_remote=false",
    ):
        assert errcode(await client.get(path)) == (404, "M_NOT_FOUND"), path
    assert errcode(
        await client.get(f"{V1_MEDIA}/download/localhost/{media_id}?timeout_ms=abc")
    ) == (400, "M_INVALID_PARAM")


async def test_ranges(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    data = bytes(range(256)) * (3 * CHUNK_SIZE // 256 + 7)  # crosses chunk boundaries
    media_id = await upload(client, data, "video/mp4")
    path = f"{V1_MEDIA}/download/localhost/{media_id}"
    total = len(data)
    for header, start, end in [
        ("bytes=0-0", 0, 0),
        ("bytes=10-20", 10, 20),
        (f"bytes={CHUNK_SIZE - 5}-{2 * CHUNK_SIZE + 5}", CHUNK_SIZE - 5, 2 * CHUNK_SIZE + 5),
        (f"bytes={CHUNK_SIZE}-", CHUNK_SIZE, total - 1),
        ("bytes=-100", total - 100, total - 1),
        ("bytes=5-999999999999", 5, total - 1),
    ]:
        got = await client.get(path, headers={"Range": header})
        assert got.status == 206, header
        assert got.body == data[start : end + 1], header
        assert got.headers["Content-Range"] == f"bytes {start}-{end}/{total}"
        assert got.headers["Content-Length"] == str(end - start + 1)
    for header in (f"bytes={total}-", "bytes=9-3", "bytes=x-y", "bytes=-0"):
        refused = await client.get(path, headers={"Range": header})
        assert refused.status == 416, header
        assert refused.headers["Content-Range"] == f"bytes */{total}"
    for header in ("bytes=0-1,5-6", "lines=1-2"):
        whole = await client.get(path, headers={"Range": header})
        assert (whole.status, whole.body == data) == (200, True)
    if_range = await client.get(path, headers={"Range": "bytes=0-1", "If-Range": '"x"'})
    assert (if_range.status, len(if_range.body)) == (200, total)


async def test_head(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    media_id = await upload(client, b"0123456789", "text/plain")
    async with httpx.AsyncClient(base_url=homeserver.base_url) as http:
        headers = {"Authorization": f"Bearer {alice.access_token}"}
        head = await http.head(f"{V1_MEDIA}/download/localhost/{media_id}", headers=headers)
        assert head.status_code == 200
        assert head.headers["Content-Length"] == "10"
        assert head.content == b""
        ranged = await http.head(
            f"{V1_MEDIA}/download/localhost/{media_id}", headers={**headers, "Range": "bytes=2-3"}
        )
        assert (ranged.status_code, ranged.headers["Content-Length"]) == (206, "2")
        got = await http.get(f"{V1_MEDIA}/download/localhost/{media_id}", headers=headers)
        assert got.content == b"0123456789"


def _pattern(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest() * 2048  # 64 KiB


async def _generate(size: int) -> AsyncIterator[bytes]:
    for i in range(size // 65536):
        yield _pattern(i)


async def test_a_20_mib_round_trip_streams_with_flat_memory() -> None:
    """Upload and download 20 MiB through a real socket: byte-identical, and
    the traced memory of the whole process (server and client) stays far
    below the file's size while it streams."""
    size = 20 * 1024 * 1024
    expected = hashlib.sha256()
    for i in range(size // 65536):
        expected.update(_pattern(i))
    async with open_test_homeserver() as hs:
        alice = await hs.register_user("alice")
        headers = {"Authorization": f"Bearer {alice.access_token}"}
        async with httpx.AsyncClient(base_url=hs.base_url, timeout=30) as http:
            tracemalloc.start()
            try:
                started = time.perf_counter()
                answer = await http.post(
                    f"{LEGACY}/upload",
                    content=_generate(size),
                    headers={
                        **headers,
                        "Content-Type": "application/zip",
                        "Content-Length": str(size),
                    },
                    params={"filename": "big.zip"},
                )
                assert answer.status_code == 200, answer.text
                media_id = answer.json()["content_uri"].rsplit("/", 1)[1]
                received = hashlib.sha256()
                length = 0
                async with http.stream(
                    "GET", f"{V1_MEDIA}/download/localhost/{media_id}", headers=headers
                ) as response:
                    assert response.status_code == 200
                    assert response.headers["Content-Length"] == str(size)
                    assert (
                        response.headers["Content-Disposition"] == 'attachment; filename="big.zip"'
                    )
                    async for piece in response.aiter_raw():
                        received.update(piece)
                        length += len(piece)
                elapsed = time.perf_counter() - started
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert length == size
        assert received.digest() == expected.digest()
        assert peak < 8 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"
        print(f"20 MiB up and down in {elapsed:.2f}s, peak traced memory {peak / 2**20:.2f} MiB")
        chunks = await hs.services.db.run_read(
            lambda conn: conn.execute(
                "SELECT count(*), max(length(data)) FROM media_chunks"
            ).fetchone()
        )
        assert tuple(chunks) == (size // CHUNK_SIZE, CHUNK_SIZE)


async def _wait_for(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``condition`` (the server runs real threads here) for up to 10 s."""
    with trio.fail_after(10):
        while True:
            if await condition():
                return
            await trio.sleep(0.01)


async def test_an_interrupted_upload_is_never_served_and_is_cleaned_up() -> None:
    async with open_test_homeserver() as hs:
        alice = await hs.register_user("alice")
        host, port = hs.base_url.removeprefix("http://").rsplit(":", 1)
        repository = media_of(hs.running.app).repository
        stream = await trio.open_tcp_stream(host, int(port))
        head = (
            f"POST {LEGACY}/upload HTTP/1.1\r\nHost: localhost\r\n"
            f"Authorization: Bearer {alice.access_token}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {4 * CHUNK_SIZE}\r\n\r\n"
        )
        await stream.send_all(head.encode())
        await stream.send_all(b"x" * (2 * CHUNK_SIZE + 100))

        async def chunks_stored() -> bool:
            count = await hs.services.db.run_read(
                lambda c: c.execute("SELECT count(*) FROM media_chunks").fetchone()[0]
            )
            return bool(count >= 2)

        await _wait_for(chunks_stored)
        row = await hs.services.db.run_read(
            lambda c: c.execute("SELECT media_id, state FROM media").fetchone()
        )
        assert row[1] == "uploading"
        client = hs.client(alice.access_token)
        waiting = await client.get(
            f"{V1_MEDIA}/download/localhost/{row[0]}", query={"timeout_ms": "0"}
        )
        assert errcode(waiting) == (504, "M_NOT_YET_UPLOADED")
        await stream.aclose()  # the client goes away mid-upload

        async def nothing_left() -> bool:
            left = await hs.services.db.run_read(
                lambda c: c.execute(
                    "SELECT (SELECT count(*) FROM media) + (SELECT count(*) FROM media_chunks)"
                ).fetchone()[0]
            )
            return bool(left == 0)

        await _wait_for(nothing_left)
        assert repository.statistics().uploads_failed == 1
        assert errcode(await client.get(f"{V1_MEDIA}/download/localhost/{row[0]}")) == (
            404,
            "M_NOT_FOUND",
        )


async def test_what_a_crash_left_unfinished_is_deleted_on_start(tmp_path: Path) -> None:
    db = tmp_path / "hs.db"
    async with open_test_homeserver(db_path=db) as hs:
        alice = await hs.register_user("alice")
        kept = await upload(hs.client(alice.access_token), b"kept", "text/plain")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        "INSERT INTO media (origin, media_id, user_id, state, chunk_size, created_ts)"
        " VALUES ('localhost', 'halfway', '@alice:localhost', 'uploading', 262144, 1)"
    )
    nid = conn.execute("SELECT media_nid FROM media WHERE media_id = 'halfway'").fetchone()[0]
    conn.executemany(
        "INSERT INTO media_chunks (media_nid, seq, data) VALUES (?, ?, ?)",
        [(nid, seq, b"x" * 1000) for seq in range(40)],
    )
    conn.close()
    async with open_test_homeserver(db_path=db) as hs:
        alice = await hs.register_user("alice2")
        client = hs.client(alice.access_token)
        assert errcode(await client.get(f"{V1_MEDIA}/download/localhost/halfway")) == (
            404,
            "M_NOT_FOUND",
        )
        assert (await client.get(f"{V1_MEDIA}/download/localhost/{kept}")).body == b"kept"
        left = await hs.services.db.run_read(
            lambda c: c.execute(
                "SELECT count(*) FROM media_chunks WHERE media_nid = ?", (nid,)
            ).fetchone()[0]
        )
        assert left == 0


@pytest.mark.parametrize(
    "query",
    [
        "width=abc&height=10",
        "width=10",
        "width=-1&height=10",
        "width=0&height=0",
        "width=10&height=10&method=stretch",
        "width=10&height=10&animated=maybe",
        "width=99999999999999999999&height=1",
        "width=--5&height=1",
    ],
)
async def test_bad_thumbnail_parameters(homeserver: TestHomeserver, query: str) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    response = await client.get(f"{V1_MEDIA}/thumbnail/localhost/abc?{query}")
    assert response.status == 400
    assert response.json()["errcode"] in ("M_INVALID_PARAM", "M_MISSING_PARAM")
