"""Bad input to the media endpoints: always a clean 4xx, never a 500."""

from __future__ import annotations

import random

from tests.media.helpers import LEGACY, V1_MEDIA, image_bytes, upload
from trioserver.testing import open_test_homeserver

WEIRD = [
    "",
    " ",
    "-1",
    "0",
    "1e3",
    "abc",
    "ü",
    "%00",
    "\x00",
    "9" * 40,
    "true",
    "null",
    "[]",
    "../../etc/passwd",
    "a" * 3000,
    "\U0001f600",
]


async def test_bad_input_never_answers_500() -> None:
    rng = random.Random(7)
    async with open_test_homeserver(url_previews=True, max_upload_bytes=100_000) as hs:
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        png = await upload(client, image_bytes(64, 48, "PNG"), "image/png")
        text = await upload(client, b"text", "text/plain")
        seen: list[tuple[str, int]] = []

        async def check(method: str, path: str, **kwargs: object) -> None:
            response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
            seen.append((path, response.status))
            assert response.status < 500, (method, path, kwargs, response.body[:200])
            if response.status >= 400:
                assert "errcode" in response.json()

        for value in WEIRD:
            for media_id in (png, text, value, "nosuch"):
                await check(
                    "GET", f"{V1_MEDIA}/download/localhost/{media_id}", query={"timeout_ms": value}
                )
                await check("GET", f"{V1_MEDIA}/download/{value}/{media_id}/{value}")
                await check(
                    "GET",
                    f"{LEGACY}/download/localhost/{media_id}",
                    headers={"Range": f"bytes={value}"},
                )
                params = ("width", "height", "method", "animated", "timeout_ms")
                query = {name: rng.choice([value, "32", "crop", "true"]) for name in params}
                await check("GET", f"{V1_MEDIA}/thumbnail/localhost/{media_id}", query=query)
            await check(
                "POST",
                f"{LEGACY}/upload",
                data=value.encode(),
                headers={"Content-Type": value},
                query={"filename": value},
            )
            await check("PUT", f"{LEGACY}/upload/localhost/{value}", data=b"x")
            await check("PUT", f"{LEGACY}/upload/{value}/abc", data=b"x")
            # None of these is an http(s) URL: refused before any lookup or fetch.
            await check("GET", f"{V1_MEDIA}/preview_url", query={"url": value})
        assert len(seen) > 300
