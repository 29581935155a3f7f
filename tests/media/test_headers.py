"""Serving headers: Content-Disposition (RFC 6266), the spec's inline types,
Content-Type sanitising."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioserver.media.headers import (
    CONTENT_SECURITY_POLICY,
    content_disposition,
    download_disposition,
    is_inline_type,
    sanitize_content_type,
    serving_headers,
)
from trioserver.media.ids import is_valid_media_id, is_valid_mxc_part, new_media_id


@pytest.mark.parametrize(
    ("content_type", "filename", "expected"),
    [
        ("image/png", None, "inline"),
        ("image/png", "cat.png", 'inline; filename="cat.png"'),
        ("IMAGE/PNG; x=y", "cat.png", 'inline; filename="cat.png"'),
        ("text/plain; charset=utf-8", "a b.txt", 'inline; filename="a b.txt"'),
        ("text/html", "page.html", 'attachment; filename="page.html"'),
        ("image/svg+xml", "x.svg", 'attachment; filename="x.svg"'),
        ("application/octet-stream", 'q"uo\\te', 'attachment; filename="q\\"uo\\\\te"'),
        (
            "application/pdf",
            "Krieg und Frieden.pdf",
            'attachment; filename="Krieg und Frieden.pdf"',
        ),
        (
            "application/pdf",
            "Война и мир.pdf",
            "attachment; filename*=utf-8''"
            "%D0%92%D0%BE%D0%B9%D0%BD%D0%B0%20%D0%B8%20%D0%BC%D0%B8%D1%80.pdf",
        ),
        (
            "text/plain",
            "evil\r\nSet-Cookie: x=y",
            "inline; filename*=utf-8''evil%0D%0ASet-Cookie%3A%20x%3Dy",
        ),
    ],
)
def test_download_disposition(content_type: str, filename: str | None, expected: str) -> None:
    assert download_disposition(content_type, filename) == expected


@given(st.text(max_size=60))
def test_a_disposition_is_always_a_safe_header_value(filename: str) -> None:
    value = content_disposition("attachment", filename)
    assert value.isascii() and value.isprintable()
    assert "\r" not in value and "\n" not in value


def test_every_inline_type_of_the_spec() -> None:
    for kind in ("text/css", "text/csv", "application/ld+json", "image/avif", "audio/x-flac"):
        assert is_inline_type(kind)
    for kind in ("text/html", "application/javascript", "image/svg+xml", "text/xml", ""):
        assert not is_inline_type(kind)


@pytest.mark.parametrize(
    ("given_type", "stored"),
    [
        (None, "application/octet-stream"),
        ("image/png", "image/png"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("  image/jpeg ", "image/jpeg"),
        ("nonsense", "application/octet-stream"),
        ("text/plain\r\nX-Evil: 1", "application/octet-stream"),
        ("text/plain; name=é", "application/octet-stream"),
        ("a/" + "b" * 300, "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_sanitize_content_type(given_type: str | None, stored: str) -> None:
    assert sanitize_content_type(given_type) == stored


def test_serving_headers() -> None:
    headers = serving_headers("image/png", "inline", private=True)
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert CONTENT_SECURITY_POLICY == (
        "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
        "style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"
    )
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert serving_headers("a/b", "inline", private=False)["Cache-Control"].startswith("public")


def test_media_ids() -> None:
    media_id = new_media_id()
    assert len(media_id) == 24 and is_valid_media_id(media_id)
    assert new_media_id() != media_id
    for bad in ("", "../etc", "a/b", "a.b", "é", "a b", "x" * 256):
        assert not is_valid_media_id(bad)
    assert is_valid_mxc_part("example.org:8448", "abc_-1")
    assert is_valid_mxc_part("[::1]:8448", "abc")
    assert not is_valid_mxc_part("exa mple.org", "abc")
    assert not is_valid_mxc_part("127.0.0.1/..", "abc")
