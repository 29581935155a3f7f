"""OpenGraph data of an HTML page, for URL previews (spec: ``GET
/media/preview_url``; https://ogp.me/). Pure: the stdlib ``html.parser``
over text already fetched.

``og:*`` properties come from ``<meta property=...>`` (or ``name=``); a page
without ``og:title`` / ``og:description`` gets its ``<title>`` and
``<meta name="description">``. Values are trimmed and bounded; ``og:image``
and ``og:url`` are made absolute against the page URL.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

MAX_PROPERTIES = 50
MAX_VALUE_LENGTH = 1000
_WHITESPACE = re.compile(r"\s+")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]{1,40})""", re.I)


def _clean(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip()[:MAX_VALUE_LENGTH]


class _OpenGraphParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.properties: dict[str, str] = {}
        self.title: str | None = None
        self.description: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.title is None:
            self._in_title = True
        if tag != "meta":
            return
        values = {name.lower(): value for name, value in attrs if value is not None}
        key = values.get("property") or values.get("name")
        content = values.get("content")
        if key is None or content is None:
            return
        key = key.strip().lower()
        if key.startswith("og:") and len(self.properties) < MAX_PROPERTIES:
            self.properties.setdefault(key[:100], _clean(content))
        elif key == "description" and self.description is None:
            self.description = _clean(content)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = _clean("".join(self._title_parts))

    def handle_data(self, data: str) -> None:
        if self._in_title and sum(map(len, self._title_parts)) < MAX_VALUE_LENGTH:
            self._title_parts.append(data)


def _absolute_http_url(base_url: str, value: str) -> str | None:
    url = urljoin(base_url, value)
    return url if urlsplit(url).scheme in ("http", "https") else None


def parse_opengraph(html: str, base_url: str) -> dict[str, str]:
    """The preview of a page: its ``og:*`` properties, with fallbacks."""
    parser = _OpenGraphParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; be sure a page never breaks a preview
        pass
    og = {key: value for key, value in parser.properties.items() if value}
    if "og:title" not in og and parser.title:
        og["og:title"] = parser.title
    if "og:description" not in og and parser.description:
        og["og:description"] = parser.description
    for key in ("og:image", "og:url"):
        if key in og:
            absolute = _absolute_http_url(base_url, og[key])
            if absolute is None:
                del og[key]
            else:
                og[key] = absolute
    return og


def guess_charset(content_type: str | None, head: bytes) -> str:
    """The charset of a page: from its ``Content-Type``, else a ``<meta charset>``
    near its start, else UTF-8."""
    if content_type:
        for param in content_type.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
    match = _CHARSET.search(head[:4096])
    return match.group(1).decode("ascii") if match else "utf-8"


def decode_html(body: bytes, content_type: str | None) -> str:
    charset = guess_charset(content_type, body)
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
