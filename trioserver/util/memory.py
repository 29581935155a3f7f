"""Keep the process's memory close to what it uses (glibc only).

By default glibc serves a freed large block's size from the heap next time
(its mmap threshold grows up to 32 MiB), and each thread that allocates gets
its own arena. A password hash (argon2id's 7 MiB buffer) in a worker thread
then stays resident in that thread's arena after the hash is done, once per
thread. Fixing the mmap threshold gives large blocks back to the system when
freed, and two arenas are plenty for a server whose threads mostly wait on
SQLite.

Freed memory inside the heap (a burst of requests, then quiet) is not given
back by ``free`` alone; :func:`trim_every` asks glibc to release it
(``malloc_trim``) every few seconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

import trio

__all__ = ["return_freed_memory", "trim_every"]

log = logging.getLogger(__name__)

#: mallopt parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


def return_freed_memory() -> bool:
    """Tune glibc's allocator as the module docstring says; False where the
    C library is not glibc (nothing is changed then)."""
    libc = _glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_ARENA_MAX, 2))
    if not ok:
        log.debug("mallopt refused; memory tuning skipped")
    return ok


async def trim_every(seconds: float) -> None:
    """Give freed heap memory back to the system every ``seconds`` (glibc's
    ``malloc_trim``; returns at once elsewhere). Runs until cancelled."""
    libc = _glibc()
    if libc is None:
        return
    while True:
        await trio.sleep(seconds)
        libc.malloc_trim(0)
