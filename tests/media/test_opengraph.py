"""OpenGraph data of HTML pages, for URL previews."""

from __future__ import annotations

from trioserver.media.opengraph import decode_html, guess_charset, parse_opengraph

PAGE = """<!doctype html><html><head>
<title>  The   Title </title>
<meta property="og:title" content="OG title &amp; more">
<meta name="og:description" content="Described">
<meta property="og:image" content="/img/cat.png">
<meta property="og:url" content="javascript:alert(1)">
<meta name="description" content="plain description">
</head><body><p>hello</body></html>"""


def test_opengraph_properties() -> None:
    og = parse_opengraph(PAGE, "https://example.org/a/page.html")
    assert og == {
        "og:title": "OG title & more",
        "og:description": "Described",
        "og:image": "https://example.org/img/cat.png",
    }


def test_fallbacks_to_title_and_description() -> None:
    page = "<html><head><title>Just a <b>title</b></title>"
    page += '<meta name="description" content=" words  here "></head></html>'
    assert parse_opengraph(page, "http://x/") == {
        "og:title": "Just a title",
        "og:description": "words here",
    }


def test_broken_html_never_breaks() -> None:
    for page in ("", "<", "<meta property=og:title content='x", "<title>" * 10_000, "\x00\ud800"):
        assert isinstance(parse_opengraph(page, "http://x/"), dict)
    long = parse_opengraph(f'<meta property="og:title" content="{"x" * 5000}">', "http://x/")
    assert len(long["og:title"]) == 1000


def test_charsets() -> None:
    assert guess_charset("text/html; charset=ISO-8859-1", b"") == "ISO-8859-1"
    assert guess_charset("text/html", b'<meta charset="windows-1251">') == "windows-1251"
    assert guess_charset(None, b"<html>") == "utf-8"
    assert decode_html("é".encode("latin-1"), "text/html; charset=latin-1") == "é"
    assert decode_html(b"\xff", "text/html; charset=no-such-charset") == "\ufffd"
