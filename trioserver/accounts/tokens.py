"""Access and refresh tokens: random strings handed out once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import string

_DEVICE_ALPHABET = string.ascii_uppercase


def new_access_token() -> str:
    return "tsa_" + secrets.token_urlsafe(32)


def new_refresh_token() -> str:
    return "tsr_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_device_id() -> str:
    return "".join(secrets.choice(_DEVICE_ALPHABET) for _ in range(10))
