"""``Range: bytes=...`` requests (RFC 9110, section 14). Pure: no I/O.

One range is served as ``206`` with ``Content-Range``. A header in another
unit, or asking for several ranges, is ignored (the whole content is sent:
RFC 9110 lets a server ignore ``Range``). A ``bytes`` range that is malformed
or lies wholly past the end is answered ``416`` with ``Content-Range: bytes */N``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
#: Longer numbers than this cannot be a position in anything we store.
_MAX_DIGITS = 18


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive (as in ``Content-Range``)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, total: int) -> str:
        return f"bytes {self.start}-{self.end}/{total}"


class RangeNotSatisfiable(Exception):
    """Answer ``416`` with ``Content-Range: bytes */<total>``."""


def unsatisfiable_content_range(total: int) -> str:
    return f"bytes */{total}"


def parse_range(header: str | None, total: int) -> ByteRange | None:
    """The one range ``header`` asks of ``total`` bytes, clamped to the content;
    None to send everything; raises :class:`RangeNotSatisfiable`."""
    if header is None:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    specs = [part.strip() for part in spec.split(",")]
    if len(specs) != 1:
        if all(_SPEC.fullmatch(part) for part in specs):
            return None  # several ranges: we send the whole content instead
        raise RangeNotSatisfiable(header)
    match = _SPEC.fullmatch(specs[0])
    if match is None:
        raise RangeNotSatisfiable(header)
    first, last = match.group(1), match.group(2)
    if len(first) > _MAX_DIGITS or len(last) > _MAX_DIGITS or (not first and not last):
        raise RangeNotSatisfiable(header)
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or total == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, total - suffix), total - 1)
    start = int(first)
    end = int(last) if last else total - 1
    if end < start or start >= total:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, min(end, total - 1))
