"""The adapter's exception hierarchy.

Every exception ``segment_adapter`` raises on purpose derives from :class:`AdapterError`. The
input errors also derive from :class:`ValueError`, so code that already catches ``ValueError`` for
bad input keeps working. Each error carries the location of the problem as data (``field``,
``path``, ``position``...) besides a message that names it and says how to fix it; none carries a
credential. All of them survive pickling (for multiprocessing and task queues).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AdapterError",
    "ConfigError",
    "EventValidationError",
    "MappingError",
    "SubscriptionSyntaxError",
]


def _rebuild(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    return cls(*args, **state)


class AdapterError(Exception):
    """Base class of every error raised by ``segment_adapter``."""


class EventValidationError(AdapterError, ValueError):
    """A Segment event (or a payload of events) that does not follow the Spec.

    Attributes:
        field: Dotted path of the offending field as it appears on the wire, e.g. ``userId``,
            ``timestamp`` or ``properties.items[2]``; ``""`` when the problem is the whole event or
            payload (for example a JSON array where an object was expected).
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, {"field": self.field}))


class MappingError(AdapterError, ValueError):
    """A mapping that is invalid, or that cannot be evaluated against an event.

    Attributes:
        path: JSON-pointer-like location of the offending key inside the mapping, e.g.
            ``/embeddedData/@if/exists`` (``""`` is the mapping itself). Keys containing ``/`` or
            ``~`` are escaped as in RFC 6901 (``~1`` and ``~0``).
        reason: The message without the location prefix.
    """

    def __init__(self, reason: str, *, path: str = "") -> None:
        super().__init__(f"mapping {path or '(root)'}: {reason}")
        self.reason = reason
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), (self.reason,), {"path": self.path}))


class SubscriptionSyntaxError(AdapterError, ValueError):
    """A subscription (FQL) that cannot be parsed.

    The message shows the offending line with a caret under the problem.

    Attributes:
        reason: What is wrong and how to fix it, without the location.
        text: The subscription source text.
        position: 0-based character offset of the problem in ``text``.
    """

    def __init__(self, reason: str, *, text: str, position: int) -> None:
        super().__init__(_caret_message(reason, text, position))
        self.reason = reason
        self.text = text
        self.position = position

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), (self.reason,), {"text": self.text, "position": self.position}),
        )


def _caret_message(reason: str, text: str, position: int) -> str:
    position = max(0, min(position, len(text)))
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    if line_end == -1:
        line_end = len(text)
    line = text[line_start:line_end]
    column = position - line_start
    line_number = text.count("\n", 0, position) + 1
    where = f"line {line_number}, column {column + 1}" if "\n" in text else f"column {column + 1}"
    return f"{reason} (at {where})\n    {line}\n    {' ' * column}^"


class ConfigError(AdapterError, ValueError):
    """A destination configuration problem (settings, subscriptions, mappings).

    Attributes:
        subscription: Index or name of the offending subscription, when the problem is in one.
        field: The offending setting or mapping field, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        subscription: int | str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.subscription = subscription
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.args, {"subscription": self.subscription, "field": self.field}),
        )
