"""Segment Spec messages: parsing, validation and typed models.

Events arrive as JSON, either as Segment delivers them to a webhook or as ``analytics-python``
builds them (explicit ``null`` values, ``+00:00`` or ``Z`` timestamps, numeric ids). Parsing
checks what the Spec requires and gives each event a typed model:

* ``type`` is one of ``identify``, ``track``, ``page``, ``screen``, ``group``, ``alias`` (anything
  else, including Segment's ``delete`` notifications, is an :class:`EventValidationError` naming
  ``type``);
* ``userId`` or ``anonymousId`` is a non-empty string. Numeric ids are accepted and turned into
  strings, in the model and in :attr:`SegmentEvent.raw`, as Segment itself does (``123`` becomes
  ``"123"``; a float is written as JavaScript writes it, so ``1.0`` becomes ``"1"``);
* a ``track`` has a non-empty string ``event``;
* ``messageId`` is a string when present (it may be missing: the destination decides what to do);
* ``timestamp``, ``sentAt``, ``receivedAt`` and ``originalTimestamp`` are ISO-8601 date-times when
  present (``Z``, ``+00:00``, ``+0000`` or no offset, which means UTC);
* ``context``, ``integrations``, ``traits`` and ``properties`` are objects (or ``null``);
* every value is JSON (str, int, float, bool, None, list, dict with string keys), nested at most
  :data:`MAX_EVENT_DEPTH` levels.

Keys are Segment's camelCase; unknown keys are kept in :attr:`SegmentEvent.raw`, which is what
mappings and subscriptions evaluate against. Every error names the offending field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Final, Literal, TypeAlias

import attrs

from ._js import is_number, json_parse, number_to_string
from .errors import EventValidationError

__all__ = [
    "EVENT_TYPES",
    "MAX_EVENT_DEPTH",
    "AliasEvent",
    "Event",
    "EventType",
    "GroupEvent",
    "IdentifyEvent",
    "PageEvent",
    "ParsedItem",
    "ScreenEvent",
    "SegmentEvent",
    "TrackEvent",
    "parse_event",
    "parse_events",
    "parse_json",
    "parse_timestamp",
    "traits_of",
]

EventType: TypeAlias = Literal["identify", "track", "page", "screen", "group", "alias"]
EVENT_TYPES: Final[tuple[EventType, ...]] = (
    "identify",
    "track",
    "page",
    "screen",
    "group",
    "alias",
)
"""The Spec's call types, the values ``type`` may take."""

MAX_EVENT_DEPTH: Final = 64
"""How deeply objects and arrays may nest inside an event."""


@attrs.frozen(kw_only=True)
class SegmentEvent:
    """The fields every Segment message has. Build events with :func:`parse_event`.

    Attributes:
        type: The call type (a class constant on each subclass).
        message_id: ``messageId``, or ``None`` when the event has none.
        user_id: ``userId`` as a string, or ``None``.
        anonymous_id: ``anonymousId`` as a string, or ``None``.
        timestamp: When the event happened (timezone-aware), or ``None``.
        sent_at: ``sentAt`` (timezone-aware), or ``None``.
        received_at: ``receivedAt`` (timezone-aware), or ``None``.
        original_timestamp: ``originalTimestamp`` (timezone-aware), or ``None``.
        context: ``context`` (``{}`` when missing or ``null``).
        integrations: ``integrations`` (``{}`` when missing or ``null``).
        raw: The normalised event JSON (ids as strings, batch context merged in, unknown keys
            kept, timestamps as sent). Mappings and subscriptions evaluate against it. Treat it
            as read-only: models share its nested objects.
    """

    type: ClassVar[EventType]

    message_id: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    timestamp: datetime | None = None
    sent_at: datetime | None = None
    received_at: datetime | None = None
    original_timestamp: datetime | None = None
    context: Mapping[str, Any] = attrs.field(factory=dict)
    integrations: Mapping[str, Any] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class IdentifyEvent(SegmentEvent):
    """An ``identify`` call: who the user is, with their ``traits``."""

    type: ClassVar[Literal["identify"]] = "identify"
    traits: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class TrackEvent(SegmentEvent):
    """A ``track`` call: an action the user performed (``event``) with its ``properties``.

    Track events have no top-level traits in the Spec; traits travel in ``context.traits``
    (see :func:`traits_of`).
    """

    type: ClassVar[Literal["track"]] = "track"
    event: str
    properties: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class PageEvent(SegmentEvent):
    """A ``page`` call: a web page view."""

    type: ClassVar[Literal["page"]] = "page"
    name: str | None = None
    category: str | None = None
    properties: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ScreenEvent(SegmentEvent):
    """A ``screen`` call: a mobile screen view."""

    type: ClassVar[Literal["screen"]] = "screen"
    name: str | None = None
    category: str | None = None
    properties: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class GroupEvent(SegmentEvent):
    """A ``group`` call: the user joined a group (``group_id``) described by ``traits``."""

    type: ClassVar[Literal["group"]] = "group"
    group_id: str | None = None
    traits: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class AliasEvent(SegmentEvent):
    """An ``alias`` call: ``previous_id`` and ``user_id`` are the same user."""

    type: ClassVar[Literal["alias"]] = "alias"
    previous_id: str | None = None


Event: TypeAlias = IdentifyEvent | TrackEvent | PageEvent | ScreenEvent | GroupEvent | AliasEvent
"""Any parsed event; match on the class (or ``event.type``) to route it."""


@attrs.frozen(kw_only=True)
class ParsedItem:
    """The outcome of parsing one event of a payload.

    Exactly one of ``event`` and ``error`` is set.

    Attributes:
        index: Position of the event in the payload (0 for a single event).
        event: The parsed event, when it is valid.
        error: Why the event is invalid, when it is not.
        message_id: The event's ``messageId`` when it has a string one, even if the event is
            invalid (for per-event reports).
    """

    index: int
    event: Event | None = None
    error: EventValidationError | None = None
    message_id: str | None = None

    @property
    def ok(self) -> bool:
        """``True`` when the event parsed."""
        return self.error is None


# ---------------------------------------------------------------------------------------------
# Helpers


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def _excerpt(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


# Where a value sits in the event: a (parent, key) chain, turned into a field name on error only.
_Where = tuple[Any, str | int] | None
_SCALARS: Final = frozenset({str, int, bool, type(None)})


def _field_name(where: _Where) -> str:
    keys: list[str | int] = []
    while where is not None:
        where, key = where
        keys.append(key)
    name = ""
    for key in reversed(keys):
        if isinstance(key, int):
            name = f"{name}[{key}]"
        elif name:
            name = f"{name}.{key}"
        else:
            name = key
    return name


def _copy_json(value: Any, where: _Where, depth: int) -> Any:
    """A copy of ``value`` after checking that it is JSON and not nested too deeply."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        field = _field_name(where)
        raise EventValidationError(
            f"{field or 'the event'} is {value!r}, which JSON cannot carry; send a finite "
            "number or null",
            field=field,
        )
    if depth >= MAX_EVENT_DEPTH and isinstance(value, list | Mapping):
        field = _field_name(where)
        raise EventValidationError(
            f"{field or 'the event'} nests deeper than {MAX_EVENT_DEPTH} levels; flatten it",
            field=field,
        )
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                field = _field_name(where)
                raise EventValidationError(
                    f"{field or 'the event'} has the non-string key {key!r}; JSON keys are strings",
                    field=field,
                )
            copy[key] = (
                item if type(item) in _SCALARS else _copy_json(item, (where, key), depth + 1)
            )
        return copy
    if isinstance(value, list):
        return [
            item if type(item) in _SCALARS else _copy_json(item, (where, i), depth + 1)
            for i, item in enumerate(value)
        ]
    if isinstance(value, str | int):  # subclasses, e.g. an IntEnum member
        return value
    field = _field_name(where)
    raise EventValidationError(
        f"{field or 'the event'} is {_describe(value)}, which is not a JSON value; send strings "
        "(ISO-8601 for dates), numbers, booleans, null, arrays or objects",
        field=field,
    )


def _id_string(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:
            pass  # more digits than Python converts; reported below
    elif isinstance(value, float):
        return number_to_string(value)
    raise EventValidationError(
        f"{field} must be a string (or a number, which is converted), got {_describe(value)}",
        field=field,
    )


_ISO_DATETIME: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)?)?"
)


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 date-time into an aware ``datetime`` (no offset means UTC).

    Accepts ``2015-02-23T22:28:55.111Z``, ``...+00:00``, ``...+0000``, ``...+01``, a space instead
    of ``T``, any number of fraction digits (microseconds are kept), and a bare date (midnight
    UTC).

    Raises:
        ValueError: ``text`` is not such a date-time, or names an impossible one.
    """
    match = _ISO_DATETIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{_excerpt(text)} is not an ISO-8601 date-time")
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    tz = timezone.utc
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        if offset >= timedelta(hours=24) or int(off_m or 0) >= 60:
            raise ValueError(f"{_excerpt(text)} has an impossible UTC offset")
        tz = timezone(offset if sign == "+" else -offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError as exc:
        raise ValueError(f"{_excerpt(text)} is not a valid date-time ({exc})") from None


def _timestamp(raw: Mapping[str, Any], key: str) -> datetime | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventValidationError(
            f"{key} must be an ISO-8601 date-time string such as 2015-02-23T22:28:55.111Z, got "
            f"{_describe(value)}",
            field=key,
        )
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise EventValidationError(
            f"{key}: {exc}; send an ISO-8601 date-time such as 2015-02-23T22:28:55.111Z",
            field=key,
        ) from None


def _object(raw: Mapping[str, Any], key: str, field: str | None = None) -> Mapping[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        name = field or key
        raise EventValidationError(
            f"{name} must be an object (or null), got {_describe(value)}", field=name
        )
    return value


def _optional_string(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise EventValidationError(
        f"{key} must be a string (or null), got {_describe(value)}", field=key
    )


def _normalise(raw: dict[str, Any]) -> EventType:
    """Check ``type``, ids and ``messageId`` in place; return the type."""
    kind = raw.get("type")
    if kind is None:
        raise EventValidationError(
            f"type is missing; set it to one of {', '.join(EVENT_TYPES)}", field="type"
        )
    if kind not in EVENT_TYPES:
        shown = _excerpt(kind) if isinstance(kind, str) else _describe(kind)
        raise EventValidationError(
            f"type {shown} is not supported; expected one of {', '.join(EVENT_TYPES)}",
            field="type",
        )
    for key in ("userId", "anonymousId", "groupId", "previousId"):
        if raw.get(key) is not None:
            raw[key] = _id_string(raw[key], key)
    message_id = raw.get("messageId")
    if message_id is not None and not isinstance(message_id, str):
        raise EventValidationError(
            f"messageId must be a string, got {_describe(message_id)}", field="messageId"
        )
    if not raw.get("userId") and not raw.get("anonymousId"):
        raise EventValidationError(
            "userId or anonymousId is required: set userId to the user's id in your system "
            "(or anonymousId for a visitor not yet identified)",
            field="userId",
        )
    result: EventType = kind
    return result


def _build(raw: dict[str, Any]) -> Event:
    kind = _normalise(raw)
    context = _object(raw, "context")
    if context:
        _object(context, "traits", "context.traits")
    common: dict[str, Any] = {
        "message_id": raw.get("messageId"),
        "user_id": raw.get("userId"),
        "anonymous_id": raw.get("anonymousId"),
        "timestamp": _timestamp(raw, "timestamp"),
        "sent_at": _timestamp(raw, "sentAt"),
        "received_at": _timestamp(raw, "receivedAt"),
        "original_timestamp": _timestamp(raw, "originalTimestamp"),
        "context": context,
        "integrations": _object(raw, "integrations"),
        "raw": raw,
    }
    if kind == "identify":
        return IdentifyEvent(traits=_object(raw, "traits"), **common)
    if kind == "track":
        name = raw.get("event")
        if not isinstance(name, str) or not name:
            got = "an empty string" if name == "" else _describe(name)
            raise EventValidationError(
                f"event is required for a track call: set it to the action's name, e.g. \"Order "
                f'Completed" (got {got})',
                field="event",
            )
        return TrackEvent(event=name, properties=_object(raw, "properties"), **common)
    if kind in ("page", "screen"):
        cls = PageEvent if kind == "page" else ScreenEvent
        return cls(
            name=_optional_string(raw, "name"),
            category=_optional_string(raw, "category"),
            properties=_object(raw, "properties"),
            **common,
        )
    if kind == "group":
        return GroupEvent(group_id=raw.get("groupId"), traits=_object(raw, "traits"), **common)
    return AliasEvent(previous_id=raw.get("previousId"), **common)


# ---------------------------------------------------------------------------------------------
# Public API


def parse_event(obj: object) -> Event:
    """Validate one event (a decoded JSON object) and build its model.

    Args:
        obj: The event as a mapping with Segment's camelCase keys.

    Returns:
        The typed event; its ``raw`` is a normalised copy of ``obj``.

    Raises:
        EventValidationError: the event breaks a rule of the Spec; ``field`` names the key.
    """
    if not isinstance(obj, Mapping):
        raise EventValidationError(
            f"an event must be a JSON object, got {_describe(obj)}", field=""
        )
    try:
        raw: dict[str, Any] = _copy_json(obj, None, 0)
    except RecursionError:
        raise EventValidationError(
            f"the event nests deeper than {MAX_EVENT_DEPTH} levels", field=""
        ) from None
    return _build(raw)


def _deep_merge(shared: Mapping[str, Any], own: Mapping[str, Any], depth: int) -> dict[str, Any]:
    """``shared`` overlaid with ``own``: ``own`` wins, nested objects merge key by key."""
    if depth >= MAX_EVENT_DEPTH:
        raise EventValidationError(
            f"context nests deeper than {MAX_EVENT_DEPTH} levels", field="context"
        )
    merged = dict(shared)
    for key, value in own.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = _deep_merge(base, value, depth + 1)
        else:
            merged[key] = value
    return merged


def _with_shared(item: Mapping[str, Any], shared: Mapping[str, Mapping[str, Any]]) -> Any:
    merged = dict(item)
    for key, value in shared.items():
        own = item.get(key)
        if own is None:
            merged[key] = value
        elif isinstance(own, Mapping):
            merged[key] = _deep_merge(value, own, 0)
    return merged


def _parse_item(index: int, item: object, shared: Mapping[str, Mapping[str, Any]]) -> ParsedItem:
    message_id = None
    if isinstance(item, Mapping):
        candidate = item.get("messageId")
        message_id = candidate if isinstance(candidate, str) else None
    try:
        if shared and isinstance(item, Mapping):
            item = _with_shared(item, shared)
        event = parse_event(item)
    except EventValidationError as exc:
        return ParsedItem(index=index, error=exc, message_id=message_id)
    except RecursionError:
        error = EventValidationError(
            f"the event nests deeper than {MAX_EVENT_DEPTH} levels", field=""
        )
        return ParsedItem(index=index, error=error, message_id=message_id)
    return ParsedItem(index=index, event=event, message_id=event.message_id)


def _shared_objects(envelope: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    shared: dict[str, Mapping[str, Any]] = {}
    for key in ("context", "integrations"):
        value = envelope.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise EventValidationError(
                f"the batch's {key} must be an object (or null), got {_describe(value)}",
                field=key,
            )
        shared[key] = value
    return shared


def parse_events(payload: object) -> list[ParsedItem]:
    """Parse every event of a payload, keeping the invalid ones as errors.

    Accepts a single event object, a JSON array of events, or the HTTP API batch envelope
    ``{"batch": [...], "context": {...}, "integrations": {...}}``, whose ``context`` and
    ``integrations`` are deep-merged into each item (the item's own keys win; an item's ``null``
    ``context`` counts as absent). Other envelope keys (``writeKey``, ``sentAt``) are ignored.

    Returns:
        One :class:`ParsedItem` per input event, in order; an invalid event never stops the rest.

    Raises:
        EventValidationError: the payload as a whole is unusable (neither an object nor an
            array, ``batch`` not an array, or envelope ``context`` / ``integrations`` not
            objects).
    """
    if isinstance(payload, Mapping) and "batch" in payload:
        batch = payload["batch"]
        if not isinstance(batch, list):
            raise EventValidationError(
                f"batch must be an array of events, got {_describe(batch)}", field="batch"
            )
        shared = _shared_objects(payload)
        return [_parse_item(i, item, shared) for i, item in enumerate(batch)]
    if isinstance(payload, Mapping):
        return [_parse_item(0, payload, {})]
    if isinstance(payload, list):
        return [_parse_item(i, item, {}) for i, item in enumerate(payload)]
    raise EventValidationError(
        "a payload must be an event object, an array of events or a batch envelope "
        f'{{"batch": [...]}}, got {_describe(payload)}',
        field="",
    )


def parse_json(data: bytes | str) -> list[ParsedItem]:
    """Decode a raw request body and parse its events (see :func:`parse_events`).

    Bytes are decoded as JSON text (UTF-8, or UTF-16/32 with the JSON encoding detection).
    ``NaN``/``Infinity`` literals and numbers outside the float range are invalid JSON here, as in
    JavaScript; absurdly deep nesting and integers with thousands of digits are refused.

    Raises:
        EventValidationError: the body is not valid JSON, or the payload as a whole is unusable.
    """
    if not isinstance(data, bytes | bytearray | str):
        raise EventValidationError(
            f"a body must be bytes or str, got {type(data).__name__}", field=""
        )
    try:
        payload = json_parse(data)
    except RecursionError:
        raise EventValidationError("the body nests too deeply to decode", field="") from None
    except ValueError as exc:
        raise EventValidationError(f"the body is not valid JSON: {exc}", field="") from None
    return parse_events(payload)


def traits_of(event: SegmentEvent | Mapping[str, Any]) -> dict[str, Any]:
    """The user's traits as the actions read them (decision D6).

    Track events carry traits in ``context.traits`` rather than at the top level, so this returns
    ``context.traits`` overlaid with the top-level ``traits``: a trait present at the top level
    (even as ``null``) wins, a trait only in ``context.traits`` is included. Anything that is not
    an object counts as no traits.

    Args:
        event: A parsed event or an event JSON object.

    Returns:
        A new dict (changing it does not change the event).
    """
    raw = event.raw if isinstance(event, SegmentEvent) else event
    merged: dict[str, Any] = {}
    context = raw.get("context") if isinstance(raw, Mapping) else None
    if isinstance(context, Mapping):
        context_traits = context.get("traits")
        if isinstance(context_traits, Mapping):
            merged.update(context_traits)
    top = raw.get("traits") if isinstance(raw, Mapping) else None
    if isinstance(top, Mapping):
        merged.update(top)
    return merged
