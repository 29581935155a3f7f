"""URLs the previewer fetches, made plain ASCII and checked. Pure: no I/O."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
#: Characters left as they are in a path or query (RFC 3986 reserved and
#: unreserved, plus "%" so that existing escapes survive).
_SAFE = "/%:@!$&'()*+,;=-._~?"


def _host(hostname: str) -> str | None:
    if ":" in hostname:  # an IPv6 literal (urlsplit removed the brackets)
        try:
            return f"[{ipaddress.IPv6Address(hostname)}]"
        except ValueError:
            return None
    try:
        ascii_host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_host.rstrip(".").split(".")
    if not labels or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return ascii_host


def normalize_url(url: str) -> str | None:
    """``url`` as an ASCII ``http(s)://host[:port]/path?query`` URL (host in
    IDNA, other non-ASCII percent-encoded, fragment dropped), or None when it
    is not one: another scheme, no host, user info, a bad port, control
    characters, or longer than :data:`MAX_URL_LENGTH`."""
    if len(url) > MAX_URL_LENGTH or any(ord(c) < 0x21 or 0x7F <= ord(c) < 0xA0 for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    host = _host(parts.hostname)
    if host is None or port == 0:
        return None
    netloc = host if port is None else f"{host}:{port}"
    path = quote(parts.path or "/", safe=_SAFE)
    query = quote(parts.query, safe=_SAFE)
    normalized = urlunsplit((parts.scheme.lower(), netloc, path, query, ""))
    return normalized if len(normalized) <= MAX_URL_LENGTH else None
