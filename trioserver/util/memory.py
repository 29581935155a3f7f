"""Keep the process's memory close to what it uses (glibc only).

By default glibc serves a freed large block's size from the heap next time
(its mmap threshold grows up to 32 MiB), and each thread that allocates gets
its own arena. A password hash (argon2id's 19 MiB buffer) in a worker thread
then stays resident in that thread's arena after the hash is done, once per
thread. Fixing the mmap threshold gives large blocks back to the system when
freed, and two arenas are plenty for a server whose threads mostly wait on
SQLite.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

__all__ = ["return_freed_memory"]

log = logging.getLogger(__name__)

#: mallopt parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024


def return_freed_memory() -> bool:
    """Tune glibc's allocator as the module docstring says; False where the
    C library is not glibc (nothing is changed then)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_ARENA_MAX, 2))
    if not ok:
        log.debug("mallopt refused; memory tuning skipped")
    return ok
