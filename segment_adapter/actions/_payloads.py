"""From a mapped payload to values the SDK accepts: Segment's per-event checks, plus our fixes.

After the mapping is evaluated (undefined already removed), :func:`check_payload` does what
Segment's ``Action.execute`` does before ``perform``: drop ``null`` and ``""`` at the root
(``removeEmptyValues``), reject a payload missing a required field, and convert scalars the way
its schema validation (AJV, ``coerceTypes: "array"``) does. A problem raises
:class:`PayloadError`, which fails the event without retrying, as Segment's 400
``PayloadValidationError`` does.

Then :func:`flat_map` prepares embedded/transaction data (decision 13, D5) and
:func:`parse_transaction_date` reads dates (decision 9, D10).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from .._js import is_number, json_stringify, number_to_string
from ..errors import AdapterError
from ..events import parse_timestamp
from ._defaults import ActionSpec, FieldSpec

__all__ = [
    "PayloadError",
    "check_payload",
    "coerce_field",
    "flat_map",
    "parse_transaction_date",
    "same_stored_value",
]


class PayloadError(AdapterError, ValueError):
    """A mapped payload that cannot be sent (the event fails, not retryable).

    Attributes:
        field: The action field at fault, e.g. ``mailingListId`` or ``transactionData``.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (str(self), self.field))


def _rebuild(message: str, field: str) -> PayloadError:
    return PayloadError(message, field=field)


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def coerce_field(field: FieldSpec, value: Any) -> Any:
    """Convert a mapped value to its field's kind as Segment's schema validation does.

    Strings accept numbers (written as JavaScript writes them) and booleans; booleans accept
    ``"true"``/``"false"`` and ``0``/``1``; a one-item array stands for its item.

    Raises:
        PayloadError: the value cannot be converted (the message names the field).
    """
    # AJV coerceTypes "array": a one-item array stands for its item.
    if isinstance(value, list) and len(value) == 1 and field.kind != "object":
        value = value[0]
    kind = field.kind
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if is_number(value) and math.isfinite(value):
            return number_to_string(value)
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        if is_number(value) and value in (0, 1):
            return bool(value)
    elif kind == "object":
        if isinstance(value, Mapping):
            return dict(value)
    elif kind == "datetime" and (isinstance(value, str) or is_number(value)):
        return value
    expected = {
        "string": "a string",
        "boolean": "true or false",
        "object": "an object",
        "datetime": "a date string or a number",
    }[kind]
    raise PayloadError(
        f"{field.name} must be {expected}, but the mapping gave {_describe(value)}",
        field=field.name,
    )


def check_payload(spec: ActionSpec, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Segment's checks on a mapped payload: drop empties, require fields, convert scalars.

    Returns:
        The payload with only the action's fields, ``null`` and ``""`` removed at the root, and
        values converted to their field's kind.

    Raises:
        PayloadError: a required field is missing (the message names it), or a value cannot be
            converted to its field's kind.
    """
    out: dict[str, Any] = {}
    for field in spec.fields:
        value = payload.get(field.name)
        if value is None or value == "":
            if field.required:
                raise PayloadError(
                    f"missing required field {field.name!r} ({field.description}): the mapping "
                    "gave no value for this event",
                    field=field.name,
                )
            continue
        out[field.name] = coerce_field(field, value)
    return out


def flat_map(field: str, values: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    """Embedded or transaction data ready for Qualtrics (decision 13, fixes D5).

    ``null`` values are dropped (Qualtrics rejects them); nested objects and arrays are encoded
    per key as compact JSON (``JSON.stringify``: ``{"a":1}``); strings, numbers and booleans are
    kept.

    Raises:
        PayloadError: a key is empty or a number is not finite.
    """
    out: dict[str, str | int | float | bool] = {}
    for key, value in values.items():
        if not key:
            raise PayloadError(f"{field} has an empty key; give every value a name", field=field)
        if value is None:
            continue
        if isinstance(value, Mapping | list | tuple):
            out[key] = json_stringify(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise PayloadError(f"{field}[{key!r}] is {value!r}, not a JSON number", field=field)
        else:
            out[key] = value
    return out


def parse_transaction_date(value: str | int | float) -> dt.datetime:
    """Read ``transactionDate`` (decision 9; fixes D10, where a bad date silently became "now").

    Accepts ISO-8601 strings (``2024-05-01T13:00:00Z``, ``...+02:00``, ``2024-05-01 13:00:00``,
    ``2024-05-01``; no offset means UTC) and numbers as epoch milliseconds, as the hosted
    destination does.

    Returns:
        An aware UTC datetime.

    Raises:
        PayloadError: anything else, naming the value.
    """
    parsed: dt.datetime | None = None
    if isinstance(value, str):
        try:
            parsed = parse_timestamp(value)
        except ValueError:
            parsed = None
    elif is_number(value) and not isinstance(value, bool) and math.isfinite(value):
        try:
            parsed = dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            parsed = None
    if parsed is None:
        raise PayloadError(
            f"transactionDate {_describe(value)} is not a date: use an ISO-8601 string such as "
            '"2024-05-01T13:00:00Z" (no offset means UTC) or epoch milliseconds',
            field="transactionDate",
        )
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:
        raise PayloadError(
            f"transactionDate {_describe(value)} is out of range", field="transactionDate"
        ) from None


def _stored_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return number_to_string(value)


def same_stored_value(sent: str | int | float | bool, stored: str | None) -> bool:
    """Whether a value we sent is the string Qualtrics stored for it.

    Qualtrics stores every value as a string; booleans become ``true``/``false``. Numbers are
    compared by value, since ``1.0`` may come back as ``"1"`` or ``"1.0"``.
    """
    if stored is None:
        return False
    text = _stored_text(sent)
    if text == stored:
        return True
    if is_number(sent) and not isinstance(sent, bool):
        try:
            return float(stored) == float(sent)
        except ValueError:
            return False
    return False
