"""pytest plugin: the ``homeserver`` fixture (needs pytest-trio).

async def test_bot(homeserver):
    alice = await homeserver.register_user("alice")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from trioserver.testing.homeserver import TestHomeserver


@pytest.fixture
async def homeserver() -> AsyncIterator[TestHomeserver]:
    """A fresh homeserver for one test, stopped after it."""
    from trioserver.testing.homeserver import open_test_homeserver

    async with open_test_homeserver() as hs:
        yield hs
