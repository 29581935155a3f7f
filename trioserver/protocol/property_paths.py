"""Dot-separated property paths (spec: appendices, "Dot-separated property
paths"), used by push rule conditions and by filters' ``event_fields``."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1024)
def split_path(key: str) -> tuple[str, ...]:
    """A dot-separated property path: ``\\.`` is a literal dot, ``\\\\`` a
    literal backslash, any other backslash is itself. (Remembered: rules use
    a handful of keys, each on every event.)"""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(key):
        char = key[i]
        if char == "\\" and i + 1 < len(key) and key[i + 1] in ".\\":
            current.append(key[i + 1])
            i += 2
            continue
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return tuple(parts)
