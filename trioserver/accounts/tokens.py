"""Access, refresh and login tokens (random strings handed out once, stored as
SHA-256), device IDs, UIA session IDs and registration tokens."""

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


def new_login_token() -> str:
    return "tsl_" + secrets.token_urlsafe(32)


def new_session_id() -> str:
    """A user-interactive auth session ID."""
    return secrets.token_urlsafe(24)


#: The Opaque Identifier Grammar's characters (appendices), for registration tokens.
_OPAQUE_ALPHABET = string.ascii_letters + string.digits + "._~-"


def new_registration_token(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits  # easy to copy: no punctuation
    return "".join(secrets.choice(alphabet) for _ in range(length))


def is_valid_registration_token(token: str) -> bool:
    """1..64 characters of the Opaque Identifier Grammar (spec:
    "Token-authenticated registration")."""
    return 0 < len(token) <= 64 and all(c in _OPAQUE_ALPHABET for c in token)
