"""Validation of flat key/value maps: embedded data and transaction data.

Qualtrics stores these values as strings and accepts strings, numbers and booleans on input; an
object or array is refused (or JSON-encoded when the caller asks for it), ``None`` is refused
(Qualtrics rejects nulls; omit the key instead), and embedded-data names and values are limited
to 200 and 1,024 characters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ._errors import ValidationError

__all__ = ["FlatValue", "validate_flat_map"]

FlatValue = str | int | float | bool

MAX_NAME_LENGTH = 200
MAX_VALUE_LENGTH = 1024


def _as_text(value: FlatValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate_flat_map(
    field: str,
    values: Mapping[str, Any] | None,
    *,
    json_encode_nested: bool = False,
    check_lengths: bool = True,
) -> dict[str, FlatValue] | None:
    """Check a flat map before sending it; return it ready for the wire.

    Args:
        field: The argument name used in error messages (``embedded_data``, ``data``...).
        values: The map to check; ``None`` passes through as ``None``.
        json_encode_nested: Encode dict/list values as compact JSON strings instead of refusing.
        check_lengths: Enforce the 200-character name / 1,024-character value limits.

    Raises:
        ValidationError: naming the offending key and the fix.
    """
    if values is None:
        return None
    if not isinstance(values, Mapping):
        raise ValidationError(
            f"{field} must be a mapping of names to values, got {type(values).__name__}",
            field=field,
        )
    out: dict[str, FlatValue] = {}
    for key, value in values.items():
        where = f"{field}[{key!r}]"
        if not isinstance(key, str) or not key:
            raise ValidationError(
                f"{field} keys must be non-empty strings, got {key!r}", field=field
            )
        if check_lengths and len(key) > MAX_NAME_LENGTH:
            raise ValidationError(
                f"{field} name {key[:40]!r}... is {len(key)} characters; Qualtrics allows "
                f"{MAX_NAME_LENGTH}",
                field=where,
            )
        if value is None:
            raise ValidationError(
                f"{where} is None; Qualtrics rejects nulls, so omit the key instead",
                field=where,
            )
        if isinstance(value, dict | list | tuple):
            if not json_encode_nested:
                raise ValidationError(
                    f"{where} is a {type(value).__name__}; values must be strings, numbers or "
                    "booleans (pass json_encode_nested=True to send it as a JSON string)",
                    field=where,
                )
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"{where} is {value!r}; JSON has no such number", field=where)
        elif not isinstance(value, str | int | float | bool):
            raise ValidationError(
                f"{where} has type {type(value).__name__}; values must be strings, numbers or "
                "booleans (convert it first, e.g. with str() or .isoformat())",
                field=where,
            )
        if check_lengths and len(_as_text(value)) > MAX_VALUE_LENGTH:
            raise ValidationError(
                f"{where} is {len(_as_text(value))} characters long; Qualtrics allows "
                f"{MAX_VALUE_LENGTH}",
                field=where,
            )
        out[key] = value
    return out
