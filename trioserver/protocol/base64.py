"""Unpadded Base64, standard and URL-safe (spec: appendices, "Unpadded Base64" and
"URL-safe unpadded Base64").

Matrix encodes every binary value (keys, signatures, hashes) as unpadded Base64.
Encoders here never emit ``=``; the decoder follows the spec's advice to accept
input "with or without padding characters", and accepts either alphabet.
"""

from __future__ import annotations

import binascii
import re

__all__ = ["decode_base64", "encode_base64"]

_STD_TO_URLSAFE = str.maketrans("+/", "-_")
_URLSAFE_TO_STD = str.maketrans("-_", "+/")
_BODY = re.compile(r"[A-Za-z0-9+/\-_]*")


def encode_base64(data: bytes, urlsafe: bool = False) -> str:
    """``data`` as unpadded Base64; with ``urlsafe`` the alphabet uses ``-`` and ``_``
    for values 62 and 63 (RFC 4648 section 5) instead of ``+`` and ``/``."""
    text = binascii.b2a_base64(data, newline=False).decode("ascii").rstrip("=")
    return text.translate(_STD_TO_URLSAFE) if urlsafe else text


def decode_base64(text: str) -> bytes:
    """Decode standard or URL-safe Base64, padded or not.

    Raises :class:`ValueError` for characters outside both alphabets, a string
    mixing the two alphabets, an impossible length (``4n + 1`` characters) or
    wrong padding (more than two ``=``, or padding that does not complete a
    4-character group).
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    body = text.rstrip("=")
    if _BODY.fullmatch(body) is None:
        raise ValueError("invalid base64 character")
    padding = len(text) - len(body)
    if padding and (padding > 2 or len(text) % 4):
        raise ValueError("invalid base64 padding")
    if len(body) % 4 == 1:
        raise ValueError("invalid base64 length")
    has_std = "+" in body or "/" in body
    has_urlsafe = "-" in body or "_" in body
    if has_std and has_urlsafe:
        raise ValueError("base64 mixes the standard and URL-safe alphabets")
    if has_urlsafe:
        body = body.translate(_URLSAFE_TO_STD)
    return binascii.a2b_base64(body + "=" * (-len(body) % 4))
