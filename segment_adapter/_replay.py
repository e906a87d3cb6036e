"""Reading event files for ``qualtrics-segment replay`` and delivering them in order.

An events file is JSON Lines (one event per line), a JSON array of events, a single event, or an
HTTP API batch envelope ``{"batch": [...]}``. Every event keeps where it came from (``line 12`` or
``item 3``) so reports can point at it; an unreadable line becomes an invalid item, never an
abort.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ._js import json_parse
from .destination import EventResult, QualtricsDestination
from .errors import EventValidationError
from .events import Event, ParsedItem, parse_events

__all__ = ["Outcome", "SourceError", "SourceItem", "deliver", "read_source", "summarize"]


class SourceError(ValueError):
    """The events input as a whole cannot be read (not UTF-8, not JSON of a known shape)."""


@attrs.frozen(kw_only=True)
class SourceItem:
    """One event of the input and where it came from.

    Attributes:
        label: ``"line N"`` (JSON Lines and single events) or ``"item N"`` (arrays and batch
            envelopes), 1-based.
        line: The 1-based line number for JSON Lines input, else ``None``.
        parsed: The parsed event or the reason it is invalid.
    """

    label: str
    line: int | None
    parsed: ParsedItem


@attrs.frozen(kw_only=True)
class Outcome:
    """What happened to one input event (a row of the ``--report`` file)."""

    label: str
    line: int | None
    message_id: str | None
    status: str
    duplicate: bool = False
    retryable: bool = False
    message: str | None = None
    result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``messageId`` spelled as on the wire)."""
        return {
            "source": self.label,
            "line": self.line,
            "messageId": self.message_id,
            "status": self.status,
            "duplicate": self.duplicate,
            "retryable": self.retryable,
            "message": self.message,
            "result": self.result,
        }


def _invalid(index: int, message: str) -> ParsedItem:
    return ParsedItem(index=index, error=EventValidationError(message, field=""))


def read_source(data: bytes) -> list[SourceItem]:
    """Split an events input into items, keeping their positions.

    Raises:
        SourceError: the input is not UTF-8 text, is empty, or starts like a JSON document
            (``[`` or a batch envelope) that does not parse.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"the events input is not UTF-8 text ({exc.reason})") from None
    stripped = text.strip()
    if not stripped:
        raise SourceError("the events input is empty")
    if stripped.startswith("["):
        try:
            payload = json_parse(stripped)
        except (ValueError, RecursionError) as exc:
            raise SourceError(
                f"the events input looks like a JSON array but is not valid JSON: {exc}"
            ) from None
        return _from_document(payload, "item")
    if stripped.startswith("{"):
        try:
            payload = json_parse(stripped)
        except (ValueError, RecursionError):
            payload = None  # several objects: JSON Lines
        if isinstance(payload, dict) and "batch" in payload:
            return _from_document(payload, "item")
        lines = text.splitlines()
        if isinstance(payload, dict) and sum(1 for line in lines if line.strip()) > 1:
            # One event pretty-printed over several lines: it is "line N", N where it starts.
            first = next(number for number, line in enumerate(lines, 1) if line.strip())
            [item] = _from_document(payload, "line")
            return [attrs.evolve(item, label=f"line {first}", line=first)]
    return _from_lines(text)


def _from_document(payload: Any, noun: str) -> list[SourceItem]:
    try:
        parsed = parse_events(payload)
    except EventValidationError as exc:
        raise SourceError(str(exc)) from None
    return [SourceItem(label=f"{noun} {item.index + 1}", line=None, parsed=item) for item in parsed]


def _from_lines(text: str) -> list[SourceItem]:
    items: list[SourceItem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        index = len(items)
        try:
            obj = json_parse(line)
        except (ValueError, RecursionError) as exc:
            parsed = _invalid(index, f"not valid JSON: {exc}")
        else:
            if isinstance(obj, dict):
                parsed = attrs.evolve(parse_events(obj)[0], index=index)
            else:
                parsed = _invalid(index, "each line must hold one event object")
        items.append(SourceItem(label=f"line {number}", line=number, parsed=parsed))
    return items


def outcome_of(item: SourceItem, result: EventResult | None) -> Outcome:
    """The report row for an item (``result`` is ``None`` for an invalid item)."""
    parsed = item.parsed
    if result is None:
        return Outcome(
            label=item.label,
            line=item.line,
            message_id=parsed.message_id,
            status="invalid",
            message=str(parsed.error),
        )
    message = result.error
    if message is None and result.status == "skipped":
        message = "no subscription matched"
    elif message is None and result.duplicate:
        message = "already delivered (same messageId)"
    return Outcome(
        label=item.label,
        line=item.line,
        message_id=parsed.message_id,
        status=result.status,
        duplicate=result.duplicate,
        retryable=result.retryable,
        message=message,
        result=result.to_dict(),
    )


ProgressCallback = Callable[[Sequence[Outcome]], None]


async def deliver(
    destination: QualtricsDestination,
    items: Sequence[SourceItem],
    *,
    batch_size: int = 100,
    on_progress: ProgressCallback | None = None,
) -> list[Outcome]:
    """Send the valid items in input order, ``batch_size`` events per ``send_batch`` call.

    Batches go one after the other so a redelivered event always finds its first delivery in the
    ledger; within a batch the destination works concurrently under the client's limits.
    ``on_progress`` receives the outcomes of each finished chunk of input (invalid items
    included).
    """
    outcomes: list[Outcome] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        events: list[Event] = [item.parsed.event for item in chunk if item.parsed.event is not None]
        results = iter(await destination.send_batch(events) if events else [])
        done = [
            outcome_of(item, next(results) if item.parsed.event is not None else None)
            for item in chunk
        ]
        outcomes.extend(done)
        if on_progress is not None:
            on_progress(done)
    return outcomes


def summarize(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Counts by status, plus duplicates and retryable failures."""
    counts = {"events": len(outcomes), "delivered": 0, "skipped": 0, "failed": 0, "invalid": 0}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    counts["duplicates"] = sum(1 for outcome in outcomes if outcome.duplicate)
    counts["retryable"] = sum(1 for outcome in outcomes if outcome.retryable)
    return counts
