"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real Qualtrics credentials from the environment."""
    for name in ("QUALTRICS_API_TOKEN", "QUALTRICS_DATACENTER", "SEGMENT_SHARED_SECRET"):
        monkeypatch.delenv(name, raising=False)
