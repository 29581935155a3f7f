"""The allocator tuning the server applies at start."""

from __future__ import annotations

import platform

import pytest

from trioserver.util.memory import return_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_accepts_the_tuning() -> None:
    assert return_freed_memory() is True
