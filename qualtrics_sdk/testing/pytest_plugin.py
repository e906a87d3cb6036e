"""Pytest plugin (entry point ``qualtrics_sdk``): the ``fake_qualtrics`` fixture.

The fixture runs a :class:`~qualtrics_sdk.testing.FakeQualtrics` in a background thread, so it works
in sync tests and in async tests under any pytest-asyncio mode (or none). Options go through the
marker ``@pytest.mark.fake_qualtrics(**kwargs)``, passed to ``FakeQualtrics(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from qualtrics_sdk.testing import FakeQualtrics


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fake_qualtrics`` marker."""
    config.addinivalue_line(
        "markers",
        "fake_qualtrics(**options): keyword arguments for the fake_qualtrics fixture's "
        "FakeQualtrics(...), e.g. rate_limit_per_minute=3000 or seed=1",
    )


@pytest.fixture
def fake_qualtrics(request: pytest.FixtureRequest) -> Iterator[FakeQualtrics]:
    """A running fake Qualtrics (fresh state per test), served from a background thread.

    Use ``fake_qualtrics.base_url`` / ``fake_qualtrics.api_token``, or ``fake_qualtrics.client()``.
    """
    from qualtrics_sdk.testing import FakeQualtrics

    marker = request.node.get_closest_marker("fake_qualtrics")
    options = dict(marker.kwargs) if marker is not None else {}
    with FakeQualtrics(**options) as fake:
        yield fake
