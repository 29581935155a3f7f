"""A backup of the one database file is a backup of the media: ``trioserver
backup`` of a running server holding media restores to a server that serves
the same bytes (and thumbnails)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import trio

from tests.media.helpers import V1_MEDIA, image_bytes, upload
from trioserver.api.media import media_of
from trioserver.media.repository import CHUNK_SIZE
from trioserver.testing import open_test_homeserver


def _backup(db: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trioserver.cli", "backup", str(target), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_backup_and_restore_serve_the_same_media(tmp_path: Path) -> None:
    db, copy = tmp_path / "hs.db", tmp_path / "copy.db"
    files = {
        "small.txt": (b"hello", "text/plain"),
        "big.bin": (bytes(range(256)) * (CHUNK_SIZE // 256 * 5 + 3), "application/octet-stream"),
        "cat.jpg": (image_bytes(640, 480, "JPEG"), "image/jpeg"),
    }
    ids: dict[str, str] = {}
    async with open_test_homeserver(db_path=db) as hs:
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        for name, (data, content_type) in files.items():
            ids[name] = await upload(client, data, content_type, name)
        await media_of(hs.running.app).repository.wait_idle()
        thumbnail = await client.get(
            f"{V1_MEDIA}/thumbnail/localhost/{ids['cat.jpg']}?width=96&height=96&method=crop"
        )
        # Online: the server keeps running while the copy is made.
        result = await trio.to_thread.run_sync(_backup, db, copy)
        assert result.returncode == 0, result.stderr
    async with open_test_homeserver(db_path=copy) as restored:
        bob = await restored.register_user("bob")
        client = restored.client(bob.access_token)
        for name, (data, content_type) in files.items():
            got = await client.get(f"{V1_MEDIA}/download/localhost/{ids[name]}")
            assert got.status == 200
            assert hashlib.sha256(got.body).digest() == hashlib.sha256(data).digest(), name
            assert got.headers["Content-Type"] == content_type
            assert name in got.headers["Content-Disposition"]
        again = await client.get(
            f"{V1_MEDIA}/thumbnail/localhost/{ids['cat.jpg']}?width=96&height=96&method=crop"
        )
        assert again.body == thumbnail.body
