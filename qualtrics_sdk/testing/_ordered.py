"""An insertion-ordered set of ids with O(1) add/remove and O(page) positional paging."""

from __future__ import annotations

from collections.abc import Iterator


class OrderedIds:
    """Ids in insertion order. Removal leaves a hole, so page positions stay stable across deletes.

    A position (an index into the underlying list) is what the fake's skip tokens encode; holes are
    skipped while paging. Re-adding a removed id appends it at the end.
    """

    __slots__ = ("_pos", "_slots")

    def __init__(self) -> None:
        self._slots: list[str | None] = []
        self._pos: dict[str, int] = {}

    def add(self, item: str) -> None:
        """Append ``item`` unless it is already present."""
        if item not in self._pos:
            self._pos[item] = len(self._slots)
            self._slots.append(item)

    def discard(self, item: str) -> None:
        """Remove ``item`` if present."""
        index = self._pos.pop(item, None)
        if index is not None:
            self._slots[index] = None

    def position(self, item: str) -> int:
        """Return the stable position of ``item`` (raises ``KeyError`` if absent)."""
        return self._pos[item]

    def __contains__(self, item: object) -> bool:
        return item in self._pos

    def __len__(self) -> int:
        return len(self._pos)

    def __iter__(self) -> Iterator[str]:
        return (item for item in self._slots if item is not None)

    def page(self, start: int, size: int) -> tuple[list[str], int | None]:
        """Return up to ``size`` ids from position ``start`` and the position to continue from.

        The continuation is ``None`` when no id remains after the page.
        """
        slots = self._slots
        end = len(slots)
        found: list[str] = []
        index = max(start, 0)
        while index < end and len(found) < size:
            item = slots[index]
            if item is not None:
                found.append(item)
            index += 1
        while index < end and slots[index] is None:
            index += 1
        return found, (index if index < end else None)
