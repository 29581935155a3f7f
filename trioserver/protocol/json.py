"""JSON in and out: canonical encoding, compact encoding, and one strict parser.

* :func:`canonical_json` implements the spec's "Canonical JSON" (appendices,
  "Signing JSON" / "Canonical JSON"): UTF-8, no insignificant whitespace, object
  keys sorted by code point, no ``\\u`` escapes for printable characters. It is
  what hashes and signatures are computed over.
* :func:`encode_json` is a compact (not sorted) encoding for responses.
* :func:`parse_json` / :func:`parse_json_object` read untrusted bodies and accept
  only the value domain of canonical JSON: integers in
  ``[-(2**53)+1, (2**53)-1]``, no floats, no ``NaN``/``Infinity``, no duplicate
  keys, valid UTF-8 with no unpaired surrogate escapes. Room versions 6+ require
  this ("Servers MUST strictly enforce the JSON format", ``rooms/v6.md``).
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

import canonicaljson

__all__ = [
    "CANONICAL_INT_MAX",
    "CANONICAL_INT_MIN",
    "BadJson",
    "canonical_json",
    "encode_json",
    "find_non_canonical_value",
    "parse_json",
    "parse_json_object",
]

#: The integer range of canonical JSON (appendices, "Canonical JSON").
CANONICAL_INT_MAX = 2**53 - 1
CANONICAL_INT_MIN = -(2**53) + 1


class BadJson(ValueError):
    """An untrusted JSON body was rejected. ``errcode`` is ``M_NOT_JSON`` when the
    bytes are not JSON at all and ``M_BAD_JSON`` when they are JSON outside the
    canonical value domain (client-server API, "Standard error response")."""

    def __init__(self, message: str, errcode: str = "M_BAD_JSON") -> None:
        super().__init__(message)
        self.errcode = errcode


def canonical_json(value: object) -> bytes:
    """The canonical JSON encoding of ``value`` (appendices, "Canonical JSON").

    The value must already be in the canonical domain: this does not reject
    floats or out-of-range integers (see :func:`find_non_canonical_value`);
    ``NaN``/``Infinity`` and lone surrogates raise :class:`ValueError`.
    """
    result: bytes = canonicaljson.encode_canonical_json(value)
    return result


_compact_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode_json(value: object) -> bytes:
    """Compact UTF-8 JSON with keys in insertion order: cheaper than
    :func:`canonical_json` when nothing will be hashed or signed."""
    return _compact_encoder.encode(value).encode("utf-8")


def find_non_canonical_value(value: object) -> str | None:
    """A description of the first float or out-of-range integer inside ``value``,
    or None if every number is a canonical JSON integer."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        elif isinstance(item, int):
            if not CANONICAL_INT_MIN <= item <= CANONICAL_INT_MAX:
                return f"integer {item} is out of range"
        elif isinstance(item, float):
            return f"float value {item!r} is not allowed"
    return None


def _reject_float(text: str) -> NoReturn:
    raise BadJson(f"float value {text} is not allowed")


def _reject_constant(name: str) -> NoReturn:
    raise BadJson(f"{name} is not allowed")


# 2**53 - 1 has 16 digits, so anything longer (sign included) is out of range
# and is rejected without converting it (which also avoids CPython's limit on
# converting huge decimal strings).
_MAX_INT_TEXT = len(str(CANONICAL_INT_MIN))


def _parse_int(text: str) -> int:
    if len(text) <= _MAX_INT_TEXT:
        value = int(text)
        if CANONICAL_INT_MIN <= value <= CANONICAL_INT_MAX:
            return value
    shown = text if len(text) <= 40 else text[:20] + "..."
    raise BadJson(f"integer {shown} is out of range")


def _make_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BadJson(f"duplicate key {key!r}")
            seen.add(key)
    return obj


_decoder = json.JSONDecoder(
    object_pairs_hook=_make_object,
    parse_float=_reject_float,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
)

_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: object) -> bool:
    """True if a string (key or value) holds a surrogate code point. Paired
    ``\\uD83D\\uDE00`` escapes were already joined by the decoder, so any
    surrogate left is unpaired."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    return True
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json(data: bytes) -> object:
    """Parse an untrusted JSON text, strictly.

    Raises :class:`BadJson` (a :class:`ValueError`) with a precise message for:
    invalid UTF-8 (``M_NOT_JSON``), text that is not JSON (``M_NOT_JSON``,
    including a byte-order mark or nesting too deep to parse), and, as
    ``M_BAD_JSON``: floats (any number with a fraction or exponent, even
    ``1.0`` or ``1e10``), ``NaN``, ``Infinity``, ``-Infinity``, integers outside
    ``[-(2**53)+1, (2**53)-1]``, a key repeated in one object, and a ``\\u``
    escape of a surrogate that is not part of a high+low pair.
    ``-0`` is read as the integer 0.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJson(f"invalid UTF-8 at byte {exc.start}", "M_NOT_JSON") from None
    try:
        value = _decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise BadJson(
            f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", "M_NOT_JSON"
        ) from None
    except RecursionError:
        raise BadJson("not JSON: nesting too deep", "M_NOT_JSON") from None
    # Surrogates cannot come from valid UTF-8, only from \u escapes.
    if "\\u" in text and _has_lone_surrogate(value):
        raise BadJson("unpaired surrogate escape in a string")
    return value


def parse_json_object(data: bytes) -> dict[str, Any]:
    """:func:`parse_json`, and the top-level value must be an object
    (else :class:`BadJson` ``"not an object"``)."""
    value = parse_json(data)
    if not isinstance(value, dict):
        raise BadJson("not an object")
    return value
