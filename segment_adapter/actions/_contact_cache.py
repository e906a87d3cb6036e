"""Contact ids by identity, with single-flight lookups.

``upsertContactTransaction`` needs a contact id for every event. Looking it up costs a search
(and a create on a miss), so the ids are cached per directory and identity
(``extRef``, ``phone``, ``email``: exactly what the search filters on), and N concurrent events
for one identity share one lookup: the first starts it, the others wait for its answer.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

__all__ = ["ContactCache"]


def _consume(task: asyncio.Task[str]) -> None:
    # Read the outcome so a failure nobody awaited is not reported as "never retrieved".
    if not task.cancelled():
        task.exception()


class ContactCache:
    """A bounded LRU map of identity to contact id, with at most one lookup per identity.

    A failed lookup is not cached: every event waiting for it gets the error, and the next
    event for that identity looks it up again. The lookup runs in a task of its own, so a
    caller that is cancelled does not cancel it for the others.

    Args:
        max_entries: How many identities to remember.
    """

    def __init__(self, *, max_entries: int = 100_000) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive integer, got {max_entries!r}")
        self._max_entries = max_entries
        self._ids: OrderedDict[Hashable, str] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Task[str]] = {}
        self.lookups = 0
        """How many lookups were started (for tests and metrics)."""

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, key: Hashable) -> str | None:
        """The cached id for ``key``, if any."""
        contact_id = self._ids.get(key)
        if contact_id is not None:
            self._ids.move_to_end(key)
        return contact_id

    def put(self, key: Hashable, contact_id: str) -> None:
        """Remember ``contact_id`` for ``key``."""
        self._ids[key] = contact_id
        self._ids.move_to_end(key)
        while len(self._ids) > self._max_entries:
            self._ids.popitem(last=False)

    def invalidate(self, key: Hashable, contact_id: str | None = None) -> None:
        """Forget ``key`` (only if it still maps to ``contact_id``, when given)."""
        if contact_id is None or self._ids.get(key) == contact_id:
            self._ids.pop(key, None)

    async def resolve(self, key: Hashable, lookup: Callable[[], Awaitable[str]]) -> str:
        """The id for ``key``: cached, or from the lookup already running, or from ``lookup()``.

        Raises:
            Exception: whatever ``lookup`` raised (for every caller waiting on it).
        """
        cached = self.get(key)
        if cached is not None:
            return cached
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._run(key, lookup))
            task.add_done_callback(_consume)
            self._pending[key] = task
            self.lookups += 1
        return await asyncio.shield(task)

    async def _run(self, key: Hashable, lookup: Callable[[], Awaitable[str]]) -> str:
        try:
            contact_id = await lookup()
            self.put(key, contact_id)
            return contact_id
        finally:
            self._pending.pop(key, None)
