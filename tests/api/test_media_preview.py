"""GET /media/preview_url: off by default; when on, fetches through the
address guard (only a loopback test server that the config allows)."""

from __future__ import annotations

import trio
import trio.testing

from tests.media.helpers import LEGACY, V1_MEDIA, errcode, image_bytes, size_of
from tests.media.http_server import local_http_server
from trioserver.testing import TestHomeserver, open_test_homeserver

LOOPBACK = ("127.0.0.0/8",)
PAGE = b"""<html><head><title>Fallback</title>
<meta property="og:title" content="A page">
<meta property="og:description" content="About things">
<meta property="og:image" content="/cat.png">
</head><body>hi</body></html>"""


async def test_previews_are_off_by_default(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    client = homeserver.client(alice.access_token)
    for path in (f"{V1_MEDIA}/preview_url", f"{LEGACY}/preview_url"):
        got = await client.get(path, query={"url": "https://example.org/"})
        assert errcode(got) == (404, "M_UNRECOGNIZED")


async def test_a_page_preview_with_its_image() -> None:
    cat = image_bytes(200, 100, "PNG")
    routes = {
        "/page": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE),
        "/cat.png": (200, {"Content-Type": "image/png"}, cat),
        "/moved": (302, {"Location": "/page"}, b""),
    }
    async with (
        local_http_server(routes) as web,
        open_test_homeserver(url_previews=True, url_preview_allowed_ips=LOOPBACK) as hs,
    ):
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        got = await client.get(f"{V1_MEDIA}/preview_url", query={"url": web.url("/moved")})
        assert got.status == 200, got.body
        og = got.json()
        assert og["og:title"] == "A page"
        assert og["og:description"] == "About things"
        assert og["og:image"].startswith("mxc://localhost/")
        assert (og["og:image:type"], og["og:image:width"], og["og:image:height"]) == (
            "image/png",
            200,
            100,
        )
        assert og["matrix:image:size"] == len(cat)
        image = await client.get(
            f"{V1_MEDIA}/download/localhost/{og['og:image'].rsplit('/', 1)[1]}"
        )
        assert (image.status, image.body) == (200, cat)
        assert web.requests == ["/moved", "/page", "/cat.png"]
        again = await client.get(f"{LEGACY}/preview_url", query={"url": web.url("/moved")})
        assert again.json() == og
        assert len(web.requests) == 3  # from the cache

        direct = await client.get(f"{V1_MEDIA}/preview_url", query={"url": web.url("/cat.png")})
        assert direct.json()["og:image:width"] == 200
        thumb = await client.get(
            f"{V1_MEDIA}/thumbnail/localhost/{direct.json()['og:image'][16:]}?width=32&height=32&method=crop"
        )
        assert size_of(thumb.body) == (32, 32)


async def test_non_public_addresses_are_never_fetched() -> None:
    routes = {
        "/to-private": (302, {"Location": "http://10.0.0.1/secret"}, b""),
        "/to-metadata": (301, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/page": (200, {"Content-Type": "text/html"}, PAGE),
    }
    async with local_http_server(routes) as web:
        async with open_test_homeserver(url_previews=True) as hs:
            alice = await hs.register_user("alice")
            client = hs.client(alice.access_token)
            for url in (
                web.url("/page"),
                f"http://localhost:{web.port}/page",
                "http://[::1]/",
                "http://10.1.1.1/",
            ):
                got = await client.get(f"{V1_MEDIA}/preview_url", query={"url": url})
                assert errcode(got) == (403, "M_FORBIDDEN"), url
            assert web.requests == []
        async with open_test_homeserver(
            url_previews=True, url_preview_allowed_ips=("127.0.0.1/32",)
        ) as hs:
            alice = await hs.register_user("alice")
            client = hs.client(alice.access_token)
            for path in ("/to-private", "/to-metadata"):
                got = await client.get(f"{V1_MEDIA}/preview_url", query={"url": web.url(path)})
                assert errcode(got) == (403, "M_FORBIDDEN"), path
            assert web.requests == ["/to-private", "/to-metadata"]


async def test_bad_urls_and_failures() -> None:
    routes = {
        "/error": (500, {}, b"oops"),
        "/text": (200, {"Content-Type": "text/plain"}, b"just text"),
        "/loop": (302, {"Location": "/loop"}, b""),
    }
    async with (
        local_http_server(routes) as web,
        open_test_homeserver(url_previews=True, url_preview_allowed_ips=LOOPBACK) as hs,
    ):
        alice = await hs.register_user("alice")
        client = hs.client(alice.access_token)
        assert errcode(await client.get(f"{V1_MEDIA}/preview_url")) == (400, "M_MISSING_PARAM")
        for url in (
            "ftp://example.org/",
            "not a url",
            "http://",
            "http://x:99999/",
            "http://" + "a" * 3000,
        ):
            got = await client.get(f"{V1_MEDIA}/preview_url", query={"url": url})
            assert errcode(got) == (400, "M_INVALID_PARAM"), url
        assert errcode(
            await client.get(f"{V1_MEDIA}/preview_url", query={"url": web.url("/error")})
        ) == (502, "M_UNKNOWN")
        assert errcode(
            await client.get(f"{V1_MEDIA}/preview_url", query={"url": web.url("/loop")})
        ) == (502, "M_UNKNOWN")
        assert (
            await client.get(f"{V1_MEDIA}/preview_url", query={"url": web.url("/text")})
        ).json() == {}
        assert errcode(
            await hs.client().get(f"{V1_MEDIA}/preview_url", query={"url": web.url("/text")})
        ) == (401, "M_MISSING_TOKEN")


async def test_a_server_that_never_answers_times_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        local_http_server({}) as web,
        open_test_homeserver(url_previews=True, url_preview_allowed_ips=LOOPBACK) as hs,
    ):
        web.hang = True
        alice = await hs.register_user("alice")
        got = await hs.client(alice.access_token).get(
            f"{V1_MEDIA}/preview_url", query={"url": web.url("/slow")}
        )
        assert errcode(got) == (504, "M_UNKNOWN")
