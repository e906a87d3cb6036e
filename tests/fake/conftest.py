"""Fixtures for the fake server's own fidelity tests: a running fake and raw HTTP access to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from fakewire import Raw

from qualtrics_sdk.testing import FakeQualtrics


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    """A running fake in the test's event loop, seeded for reproducible ids."""
    async with FakeQualtrics(seed=7) as running:
        yield running


@pytest.fixture
async def raw(fake: FakeQualtrics) -> AsyncIterator[Raw]:
    """Raw HTTP access to ``fake``."""
    async with aiohttp.ClientSession() as session:
        yield Raw(session, fake)
