"""Media repository throughput and memory, through a real socket and a real
database file.

Run on demand (never part of the test suite):

    .venv/bin/python -m bench.bench_media [--size-mib 50] [--repeat 3] [--parallel 4]

Prints: upload and download throughput of one --size-mib file (median of
--repeat), of --parallel uploads at once, the thumbnails of a 12-megapixel
JPEG, and the process's resident memory before and at its peak. Client and
server share the process, so the peak covers both; it stays flat however
large the file, because nothing holds a whole file in memory.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import trio
from PIL import Image

from trioserver.api.media import media_of
from trioserver.testing import TestHomeserver, open_test_homeserver

PIECE = 64 * 1024


def _piece(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest() * (PIECE // 32)


async def _content(size: int) -> AsyncIterator[bytes]:
    for i in range(size // PIECE):
        yield _piece(i)


def _rss_mib() -> float:
    """Resident memory now (Linux), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _upload(http: httpx.AsyncClient, token: str, size: int) -> str:
    answer = await http.post(
        "/_matrix/media/v3/upload",
        content=_content(size),
        headers={"Authorization": f"Bearer {token}", "Content-Length": str(size)},
    )
    answer.raise_for_status()
    return str(answer.json()["content_uri"]).rsplit("/", 1)[1]


async def _download(http: httpx.AsyncClient, token: str, media_id: str) -> int:
    received = 0
    path = f"/_matrix/client/v1/media/download/localhost/{media_id}"
    async with http.stream("GET", path, headers={"Authorization": f"Bearer {token}"}) as response:
        response.raise_for_status()
        async for piece in response.aiter_raw():
            received += len(piece)
    return received


async def _thumbnails(hs: TestHomeserver, http: httpx.AsyncClient, token: str) -> float:
    photo = Image.effect_mandelbrot((4000, 3000), (-2.0, -1.5, 1.0, 1.5), 100).convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    started = time.perf_counter()
    answer = await http.post(
        "/_matrix/media/v3/upload",
        content=buffer.getvalue(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
    )
    answer.raise_for_status()
    await media_of(hs.running.app).repository.wait_idle()
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> list[tuple[str, str]]:
    size = args.size_mib * 2**20
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with open_test_homeserver(
            db_path=Path(tmp) / "bench.db", max_upload_bytes=size + 1
        ) as hs:
            token = (await hs.register_user("alice")).access_token
            async with httpx.AsyncClient(base_url=hs.base_url, timeout=600) as http:
                await _download(http, token, await _upload(http, token, PIECE))  # warm up
                rss_before = _rss_mib()
                ups: list[float] = []
                downs: list[float] = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    media_id = await _upload(http, token, size)
                    ups.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    assert await _download(http, token, media_id) == size
                    downs.append(time.perf_counter() - t0)
                rows.append(
                    (
                        f"upload {args.size_mib} MiB",
                        f"{args.size_mib / statistics.median(ups):.0f} MiB/s",
                    )
                )
                rows.append(
                    (
                        f"download {args.size_mib} MiB",
                        f"{args.size_mib / statistics.median(downs):.0f} MiB/s",
                    )
                )
                t0 = time.perf_counter()
                async with trio.open_nursery() as nursery:
                    for _ in range(args.parallel):
                        nursery.start_soon(_upload, http, token, size)
                elapsed = time.perf_counter() - t0
                rows.append(
                    (
                        f"{args.parallel} parallel uploads of {args.size_mib} MiB",
                        f"{args.parallel * args.size_mib / elapsed:.0f} MiB/s",
                    )
                )
                rows.append(("resident memory before the transfers", f"{rss_before:.0f} MiB"))
                rows.append(
                    ("peak resident memory (client + server)", f"{_peak_rss_mib():.0f} MiB")
                )
                seconds = await _thumbnails(hs, http, token)
                rows.append(
                    ("12 MP JPEG: upload + 5 common thumbnails", f"{seconds * 1000:.0f} ms")
                )
            db_size = (Path(tmp) / "bench.db").stat().st_size
            rows.append(("database size", f"{db_size / 2**20:.0f} MiB"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    rows = trio.run(run, args)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>18}")


if __name__ == "__main__":
    main()
