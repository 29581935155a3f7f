"""Media IDs and ``mxc://`` URIs (spec: client-server API, "Matrix Content (mxc://) URIs").

A media ID may hold only ``A-Za-z0-9``, ``_`` and ``-`` (the spec's guard
against directory traversal); the server name must be a valid server name.
"""

from __future__ import annotations

import re
import secrets
import string

from trioserver.protocol.identifiers import is_valid_server_name

_MEDIA_ID = re.compile(r"[A-Za-z0-9_\-]{1,255}")
_ALPHABET = string.ascii_letters + string.digits

#: Length of the media IDs we make (24 of 62 symbols: about 143 bits).
MEDIA_ID_LENGTH = 24


def new_media_id() -> str:
    """A fresh, unguessable media ID."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(MEDIA_ID_LENGTH))


def is_valid_media_id(media_id: str) -> bool:
    return _MEDIA_ID.fullmatch(media_id) is not None


def is_valid_mxc_part(server_name: str, media_id: str) -> bool:
    """Whether ``mxc://server_name/media_id`` is a URI we could ever serve."""
    return is_valid_media_id(media_id) and is_valid_server_name(server_name)


def mxc_uri(server_name: str, media_id: str) -> str:
    return f"mxc://{server_name}/{media_id}"
