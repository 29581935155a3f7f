"""Uploading: POST /upload, the async POST /create + PUT /upload flow, limits,
quotas, authorization, and GET /media/config."""

from __future__ import annotations

import httpx
import trio
import trio.testing

from tests.media.helpers import LEGACY, V1_MEDIA, errcode, upload
from trioserver.testing import TestHomeserver, open_test_homeserver


async def test_upload_and_download(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    media_id = await upload(client, b"hello world", "text/plain; charset=utf-8", "hi.txt")
    got = await client.get(f"{V1_MEDIA}/download/localhost/{media_id}")
    assert (got.status, got.body) == (200, b"hello world")
    assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert got.headers["Content-Disposition"] == 'inline; filename="hi.txt"'
    assert got.headers["Content-Length"] == "11"
    renamed = await client.get(f"{V1_MEDIA}/download/localhost/{media_id}/other name.txt")
    assert renamed.headers["Content-Disposition"] == 'inline; filename="other name.txt"'
    assert renamed.body == b"hello world"


async def test_content_type_and_filename_defaults(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    no_type = await upload(client, b"\x00\x01", content_type=None)
    got = await client.get(f"{V1_MEDIA}/download/localhost/{no_type}")
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Disposition"] == "attachment"
    html = await upload(client, b"<script>alert(1)</script>", "text/html", "x.html")
    got = await client.get(f"{V1_MEDIA}/download/localhost/{html}")
    assert got.headers["Content-Type"] == "text/html"
    assert got.headers["Content-Disposition"] == 'attachment; filename="x.html"'
    bad = await upload(client, b"x", "text/plain\x7f; evil")
    got = await client.get(f"{V1_MEDIA}/download/localhost/{bad}")
    assert got.headers["Content-Type"] == "application/octet-stream"
    empty = await upload(client, b"", "text/plain", "empty.txt")
    got = await client.get(f"{V1_MEDIA}/download/localhost/{empty}")
    assert (got.status, got.body, got.headers["Content-Length"]) == (200, b"", "0")
    unicode = await upload(client, b"x", "text/plain", "résumé.txt")
    got = await client.get(f"{V1_MEDIA}/download/localhost/{unicode}")
    assert got.headers["Content-Disposition"] == "inline; filename*=utf-8''r%C3%A9sum%C3%A9.txt"
    too_long = await client.post(f"{LEGACY}/upload", data=b"x", query={"filename": "n" * 256})
    assert errcode(too_long) == (400, "M_INVALID_PARAM")


async def test_every_upload_needs_an_access_token(homeserver: TestHomeserver) -> None:
    anyone = homeserver.client()
    for method, path in [
        ("POST", f"{LEGACY}/upload"),
        ("POST", "/_matrix/media/r0/upload"),
        ("POST", "/_matrix/media/v1/create"),
        ("PUT", f"{LEGACY}/upload/localhost/abc"),
        ("GET", f"{V1_MEDIA}/config"),
        ("GET", f"{LEGACY}/config"),
        ("GET", f"{V1_MEDIA}/download/localhost/abc"),
        ("GET", f"{V1_MEDIA}/thumbnail/localhost/abc?width=1&height=1"),
    ]:
        response = await anyone.request(method, path, data=b"x")
        assert errcode(response) == (401, "M_MISSING_TOKEN"), path
    bad = homeserver.client("not-a-token")
    assert errcode(await bad.post(f"{LEGACY}/upload", data=b"x")) == (401, "M_UNKNOWN_TOKEN")


async def test_config() -> None:
    async with open_test_homeserver(max_upload_bytes=1234) as hs:
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        for path in (f"{V1_MEDIA}/config", f"{LEGACY}/config", "/_matrix/media/r0/config"):
            got = await client.get(path)
            assert (got.status, got.json()) == (200, {"m.upload.size": 1234})


async def test_too_large() -> None:
    async with open_test_homeserver(max_upload_bytes=1000) as hs:
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        assert (await client.post(f"{LEGACY}/upload", data=b"x" * 1000)).status == 200
        for data in (b"x" * 1001, b"x" * 100_000):
            too_large = await client.post(f"{LEGACY}/upload", data=data)
            assert errcode(too_large) == (413, "M_TOO_LARGE")
        created = (await client.post("/_matrix/media/v1/create")).json()["content_uri"]
        put = await client.put(f"{LEGACY}/upload/{created[6:]}", data=b"y" * 1001)
        assert errcode(put) == (413, "M_TOO_LARGE")
        # The reservation survives a refused upload and takes a good one.
        assert (await client.put(f"{LEGACY}/upload/{created[6:]}", data=b"y")).status == 200
        stats = hs.services.db.statistics()
        assert stats.failed_jobs == 0


async def test_uploads_larger_than_the_request_limit() -> None:
    async with open_test_homeserver(max_request_bytes=1000, max_upload_bytes=100_000) as hs:
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        media_id = await upload(client, b"z" * 50_000)
        got = await client.get(f"{V1_MEDIA}/download/localhost/{media_id}")
        assert got.body == b"z" * 50_000
        # Other endpoints keep the request limit.
        big_json = {"displayname": "x" * 2000}
        profile = await client.put(
            "/_matrix/client/v3/profile/@alice:localhost/displayname", json_body=big_json
        )
        assert errcode(profile) == (413, "M_TOO_LARGE")


async def test_quota() -> None:
    async with open_test_homeserver(media_quota_bytes=100) as hs:
        alice = await hs.register_user("alice")
        bob = await hs.register_user("bob")
        client = hs.client(alice.access_token)
        await upload(client, b"a" * 60)
        assert errcode(await client.post(f"{LEGACY}/upload", data=b"a" * 41)) == (
            403,
            "M_FORBIDDEN",
        )
        await upload(client, b"a" * 40)
        assert errcode(await client.post(f"{LEGACY}/upload", data=b"a")) == (403, "M_FORBIDDEN")
        await upload(hs.client(bob.access_token), b"b" * 100)


async def test_guests_cannot_upload() -> None:
    async with open_test_homeserver(guest_access=True) as hs:
        guest = await hs.client().post(
            "/_matrix/client/v3/register", query={"kind": "guest"}, json_body={}
        )
        token = guest.json()["access_token"]
        client = hs.client(token)
        assert errcode(await client.post(f"{LEGACY}/upload", data=b"x")) == (
            403,
            "M_GUEST_ACCESS_FORBIDDEN",
        )
        assert errcode(await client.post("/_matrix/media/v1/create")) == (
            403,
            "M_GUEST_ACCESS_FORBIDDEN",
        )
        alice = await hs.register_user("alice")
        media_id = await upload(hs.client(alice.access_token), b"for guests too")
        got = await client.get(f"{V1_MEDIA}/download/localhost/{media_id}")
        assert got.body == b"for guests too"


async def test_create_then_upload(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    bob = await homeserver.register_user("bob")
    client = homeserver.client(alice.access_token)
    created = await client.post("/_matrix/media/v1/create")
    assert created.status == 200
    uri = created.json()["content_uri"]
    assert uri.startswith("mxc://localhost/")
    expires = created.json()["unused_expires_at"]
    assert isinstance(expires, int) and expires > homeserver.services.clock.time_ms()
    path = f"{LEGACY}/upload/{uri[6:]}"
    media_id = uri.rsplit("/", 1)[1]

    waiting = await client.get(
        f"{V1_MEDIA}/download/localhost/{media_id}", query={"timeout_ms": "0"}
    )
    assert errcode(waiting) == (504, "M_NOT_YET_UPLOADED")
    not_his = await homeserver.client(bob.access_token).put(path, data=b"bob's")
    assert errcode(not_his) == (403, "M_FORBIDDEN")

    put = await client.put(
        path, data=b"content", headers={"Content-Type": "text/plain"}, query={"filename": "f.txt"}
    )
    assert (put.status, put.json()) == (200, {})
    got = await client.get(f"{V1_MEDIA}/download/localhost/{media_id}")
    assert (got.body, got.headers["Content-Disposition"]) == (
        b"content",
        'inline; filename="f.txt"',
    )

    again = await client.put(path, data=b"other")
    assert errcode(again) == (409, "M_CANNOT_OVERWRITE_MEDIA")
    assert (await client.get(f"{V1_MEDIA}/download/localhost/{media_id}")).body == b"content"
    for bad in (
        f"{LEGACY}/upload/localhost/nosuchid",
        f"{LEGACY}/upload/elsewhere.org/{media_id}",
        f"{LEGACY}/upload/localhost/bad.id",
    ):
        assert errcode(await client.put(bad, data=b"x")) == (404, "M_NOT_FOUND")
    # POST /upload IDs cannot be PUT to either.
    posted = await upload(client, b"x")
    assert errcode(await client.put(f"{LEGACY}/upload/localhost/{posted}", data=b"y")) == (
        409,
        "M_CANNOT_OVERWRITE_MEDIA",
    )


async def test_a_download_waits_for_the_upload(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    uri = (await client.post("/_matrix/media/v1/create")).json()["content_uri"]
    media_id = uri.rsplit("/", 1)[1]
    results = []

    async def download() -> None:
        results.append(
            await client.get(
                f"{V1_MEDIA}/download/localhost/{media_id}", query={"timeout_ms": "10000"}
            )
        )

    async with trio.open_nursery() as nursery:
        nursery.start_soon(download)
        await trio.sleep(0.2)
        assert results == []
        assert (await client.put(f"{LEGACY}/upload/{uri[6:]}", data=b"late")).status == 200
    assert (results[0].status, results[0].body) == (200, b"late")


async def test_created_uris_expire_and_are_limited(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_homeserver() as hs:
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        uris = [
            (await client.post("/_matrix/media/v1/create")).json()["content_uri"] for _ in range(10)
        ]
        assert errcode(await client.post("/_matrix/media/v1/create")) == (429, "M_LIMIT_EXCEEDED")
        await trio.sleep(24 * 3600 + 1)
        put = await client.put(f"{LEGACY}/upload/{uris[0][6:]}", data=b"too late")
        assert errcode(put) == (404, "M_NOT_FOUND")
        media_id = uris[1].rsplit("/", 1)[1]
        assert errcode(await client.get(f"{V1_MEDIA}/download/localhost/{media_id}")) == (
            404,
            "M_NOT_FOUND",
        )
        assert (await client.post("/_matrix/media/v1/create")).status == 200
        # The sweep deletes the expired reservations.
        await trio.sleep(3600)
        await trio.testing.wait_all_tasks_blocked()
        count = await hs.services.db.run_read(
            lambda conn: conn.execute("SELECT count(*) FROM media").fetchone()[0]
        )
        assert count == 1


async def test_create_is_rate_limited(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_homeserver(rate_limits=True) as hs:
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        statuses = []
        for _ in range(30):
            response = await client.post("/_matrix/media/v1/create")
            statuses.append(response.status)
            if response.status == 200:
                uri = response.json()["content_uri"]
                await client.put(f"{LEGACY}/upload/{uri[6:]}", data=b"x")
        assert statuses.count(200) == 20 and statuses[-1] == 429
        assert "Retry-After" in response.headers


async def test_early_refusals_of_large_uploads_reach_the_client() -> None:
    """Through a real socket: an upload refused before its body is read (no
    token, too large, over quota) is answered promptly, and the connection
    goes on serving."""
    async with open_test_homeserver(max_upload_bytes=1_000_000, media_quota_bytes=1_500_000) as hs:
        alice = await hs.register_user("alice")
        auth = {"Authorization": f"Bearer {alice.access_token}"}
        body = b"x" * 20_000_000
        async with httpx.AsyncClient(base_url=hs.base_url, timeout=10) as http:
            for _ in range(3):
                no_token = await http.post(f"{LEGACY}/upload", content=body)
                assert (no_token.status_code, no_token.json()["errcode"]) == (
                    401,
                    "M_MISSING_TOKEN",
                )
                too_large = await http.post(f"{LEGACY}/upload", content=body, headers=auth)
                assert (too_large.status_code, too_large.json()["errcode"]) == (413, "M_TOO_LARGE")
                ok = await http.post(f"{LEGACY}/upload", content=b"y" * 400_000, headers=auth)
                assert ok.status_code == 200
            over = await http.post(f"{LEGACY}/upload", content=b"z" * 900_000, headers=auth)
            assert (over.status_code, over.json()["errcode"]) == (403, "M_FORBIDDEN")
