"""URLs the previewer fetches: ASCII, http(s), a real host, nothing hidden."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioserver.media.urls import normalize_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org", "https://example.org/"),
        ("HTTP://Example.ORG:8080/a?q=ü#frag", "http://example.org:8080/a?q=%C3%BC"),
        ("https://bücher.example/pfad/ä", "https://xn--bcher-kva.example/pfad/%C3%A4"),
        ("http://[::1]:8008/x", "http://[::1]:8008/x"),
        ("http://127.0.0.1/%41", "http://127.0.0.1/%41"),
    ],
)
def test_normalized(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://",
        "http:///path",
        "http://user:pw@example.org/",
        "http://example.org:99999/",
        "http://example.org:0/",
        "http://a..b/",
        "http://%41/",
        "http://exa mple.org/",
        "http://example.org/\r\nHost: evil",
        "http://[::1/",
        "http://" + "a" * 64 + ".org/",
        "https://example.org/" + "x" * 2100,
    ],
)
def test_refused(url: str) -> None:
    assert normalize_url(url) is None


@given(st.text(max_size=80))
def test_anything_normalized_is_printable_ascii(url: str) -> None:
    normalized = normalize_url("http://example.org/" + url)
    if normalized is not None:
        assert normalized.isascii() and normalized.isprintable() and " " not in normalized
        assert normalized.startswith("http://example.org/")
