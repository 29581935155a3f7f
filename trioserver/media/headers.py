"""The headers media is served with (spec: client-server API, "Content
repository": security considerations, "Serving inline content", and the
``Content-Type`` / ``Content-Disposition`` rules of ``GET /media/download``).

Pure functions over strings: no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import quote

#: Spec: "Serving inline content" -- the only types served ``inline``.
INLINE_CONTENT_TYPES = frozenset(
    {
        "text/css",
        "text/plain",
        "text/csv",
        "application/json",
        "application/ld+json",
        "image/jpeg",
        "image/gif",
        "image/png",
        "image/apng",
        "image/webp",
        "image/avif",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/quicktime",
        "audio/mp4",
        "audio/webm",
        "audio/aac",
        "audio/mpeg",
        "audio/ogg",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/x-pn-wav",
        "audio/flac",
        "audio/x-flac",
    }
)

#: The spec's recommended policy, plus ``media-src 'self'`` so that audio and
#: video opened directly still play.
CONTENT_SECURITY_POLICY = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
    "style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"
)

#: Media never changes once uploaded: a year, and no revalidation.
CACHE_MAX_AGE_SECONDS = 365 * 24 * 3600

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_MAX_CONTENT_TYPE_LENGTH = 255
_TOKEN = r"[A-Za-z0-9!#$&^_.+\-]+"
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;[\x20-\x7e]*)?")
#: RFC 8187 attr-char beyond ALPHA / DIGIT (which quote() always keeps).
_ATTR_CHAR_EXTRA = "!#$&+-.^_`|~"
#: Printable ASCII that can go in a quoted-string as it is.
_PLAIN_FILENAME = re.compile(r"[\x20-\x7e]+")


def sanitize_content_type(value: str | None) -> str:
    """The ``Content-Type`` of an upload as we store and serve it: the client's
    value when it is a well-formed ``type/subtype[; params]`` of printable
    ASCII (so it is safe to echo in a header), else ``application/octet-stream``
    (spec: "Returning application/octet-stream when the media has an
    unknown/unprovided Content-Type")."""
    if value is None:
        return DEFAULT_CONTENT_TYPE
    value = value.strip()
    if len(value) > _MAX_CONTENT_TYPE_LENGTH or not _CONTENT_TYPE.fullmatch(value):
        return DEFAULT_CONTENT_TYPE
    return value


def base_content_type(content_type: str) -> str:
    """``text/plain; charset=utf-8`` -> ``text/plain``."""
    return content_type.split(";", 1)[0].strip().lower()


def is_inline_type(content_type: str) -> bool:
    return base_content_type(content_type) in INLINE_CONTENT_TYPES


def content_disposition(kind: str, filename: str | None) -> str:
    """A ``Content-Disposition`` value (RFC 6266): ``kind`` (``inline`` or
    ``attachment``) and the file name, as a quoted string when it is plain
    printable ASCII, else as an RFC 8187 ``filename*`` in UTF-8 (which also
    keeps control characters out of the header)."""
    if not filename:
        return kind
    if _PLAIN_FILENAME.fullmatch(filename):
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'{kind}; filename="{escaped}"'
    encoded = quote(filename.encode("utf-8", "surrogatepass"), safe=_ATTR_CHAR_EXTRA)
    return f"{kind}; filename*=utf-8''{encoded}"


def download_disposition(content_type: str, filename: str | None) -> str:
    """``inline`` only for the spec's safe types, else ``attachment``."""
    kind = "inline" if is_inline_type(content_type) else "attachment"
    return content_disposition(kind, filename)


def serving_headers(content_type: str, disposition: str, *, private: bool) -> dict[str, str]:
    """Every header a media response carries besides its length and range.
    ``private``: the response needed an access token, so shared caches must
    not keep it."""
    scope = "private" if private else "public"
    return {
        "Content-Type": content_type,
        "Content-Disposition": disposition,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": f"{scope}, max-age={CACHE_MAX_AGE_SECONDS}, immutable",
    }
