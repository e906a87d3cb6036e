"""JavaScript value semantics that Segment's runtime has and Python lacks.

Segment evaluates mappings and subscriptions in Node.js, so reproducing its results needs a few of
JavaScript's rules: ``undefined`` as distinct from ``null``, truthiness, ``String(value)``,
``Number.prototype.toString``, ``JSON.stringify`` and the property lookup of action-destinations'
``get`` helper. They live here so that the mapping evaluator, the subscription evaluator and the
actions agree on them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

__all__ = [
    "MISSING",
    "PathKeys",
    "get_path",
    "is_number",
    "is_truthy",
    "js_string",
    "json_parse",
    "json_stringify",
    "loosely_equals_empty_string",
    "number_to_string",
    "parse_path",
    "utf16_length",
]


class _Undefined:
    """JavaScript's ``undefined``: a value that is not there (``None`` is JSON ``null``)."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Undefined()
"""The private stand-in for ``undefined``; it never leaves the adapter's evaluators."""

PathKeys = tuple[str, ...]

_MAX_ARRAY_INDEX: Final = 2**32 - 2
_MAX_SAFE_INTEGER: Final = 2**53
_SEPARATORS: Final = frozenset("[.]")


def is_truthy(value: Any) -> bool:
    """JavaScript truthiness: ``undefined``, ``null``, ``false``, 0, NaN and ``""`` are falsy."""
    kind = type(value)
    if kind is str:
        return bool(value)
    if kind is dict or kind is list:
        return True
    if value is None or value is MISSING:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value != ""
    if isinstance(value, int):
        return value != 0
    if isinstance(value, float):
        return value == value and value != 0.0
    return True


def is_number(value: Any) -> bool:
    """``True`` for JSON numbers (``int`` or ``float``, not ``bool``)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@lru_cache(maxsize=4096)
def parse_path(path: str) -> PathKeys | None:
    """Split a lookup path the way action-destinations' ``get`` does.

    Keys are the runs of characters between ``.``, ``[`` and ``]`` (so ``a.b[0].c`` is
    ``("a", "b", "0", "c")`` and ``a.Actions Amplitude.x`` keeps its space). ``""`` and ``"."`` are
    the root (``()``). Unlike Segment, a quoted bracket key (``a['b.c']`` or ``a["b"]``) is the
    text between the quotes; Segment would look up the key with the quotes included, which never
    exists. Returns ``None`` for a path that has no keys at all (``".."``, ``"[]"``), on which
    Segment's runtime throws.
    """
    if path in ("", "."):
        return ()
    keys: list[str] = []
    i, n = 0, len(path)
    while i < n:
        char = path[i]
        if char == "[" and i + 1 < n and path[i + 1] in "'\"":
            end = path.find(path[i + 1] + "]", i + 2)
            if end != -1:
                keys.append(path[i + 2 : end])
                i = end + 2
                continue
        if char in _SEPARATORS:
            i += 1
            continue
        j = i
        while j < n and path[j] not in _SEPARATORS:
            j += 1
        keys.append(path[i:j])
        i = j
    return tuple(keys) if keys else None


def _array_index(key: str) -> int | None:
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        index = int(key) if len(key) <= 10 else _MAX_ARRAY_INDEX + 1
        return index if index <= _MAX_ARRAY_INDEX else None
    return None


def utf16_length(text: str) -> int:
    """The length JavaScript reports for ``text`` (UTF-16 code units)."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _string_member(text: str, key: str) -> Any:
    if key == "length":
        return utf16_length(text)
    index = _array_index(key)
    if index is None:
        return MISSING
    if all(ord(char) <= 0xFFFF for char in text):
        return text[index] if index < len(text) else MISSING
    units = text.encode("utf-16-le", "surrogatepass")
    if 2 * index + 2 > len(units):
        return MISSING
    return units[2 * index : 2 * index + 2].decode("utf-16-le", "surrogatepass")


def _member(container: Any, key: str) -> Any:
    if isinstance(container, Mapping):
        return container.get(key, MISSING)
    if isinstance(container, list | tuple):
        if key == "length":
            return len(container)
        index = _array_index(key)
        return container[index] if index is not None and index < len(container) else MISSING
    if isinstance(container, str):
        return _string_member(container, key)
    return MISSING


def get_path(root: Any, keys: PathKeys) -> Any:
    """Look ``keys`` up in ``root`` as Segment's ``get`` does (``prev && prev[key]``).

    A missing key gives :data:`MISSING`. A falsy value on the way (``null``, ``0``, ``""``,
    ``false``) short-circuits: the lookup returns that value itself, so ``a.b`` on
    ``{"a": null}`` is ``None``, not :data:`MISSING`. Arrays and strings answer ``length`` and
    numeric indexes, as JavaScript does.
    """
    value = root
    for key in keys:
        if type(value) is dict:  # the common case, and objects are always truthy
            value = value.get(key, MISSING)
        elif not is_truthy(value):
            return value
        else:
            value = _member(value, key)
    return value


def number_to_string(number: int | float) -> str:
    """``String(number)`` in JavaScript: ``1.0`` is ``"1"``, ``1e21`` is ``"1e+21"``.

    Integers beyond 2**53 are first rounded to the nearest double, as ``JSON.parse`` would.
    """
    if isinstance(number, int):
        if -_MAX_SAFE_INTEGER <= number <= _MAX_SAFE_INTEGER:
            return str(number)
        try:
            number = float(number)
        except OverflowError:
            return "Infinity" if number > 0 else "-Infinity"
    if number != number:
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    mantissa, _, exponent = repr(abs(number)).partition("e")
    integer_part, _, fraction = mantissa.partition(".")
    all_digits = integer_part + fraction
    point = len(integer_part) + (int(exponent) if exponent else 0)
    stripped = all_digits.lstrip("0")
    point -= len(all_digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp_text = f"e+{e}" if e >= 0 else f"e-{-e}"
        text = digits + exp_text if k == 1 else f"{digits[0]}.{digits[1:]}{exp_text}"
    return sign + text


def js_string(value: Any) -> str:
    """``String(value)`` in JavaScript (arrays join with ``,``; objects are ``[object Object]``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is MISSING:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_to_string(value)
    if isinstance(value, list | tuple):
        return ",".join(
            "" if item is None or item is MISSING else js_string(item) for item in value
        )
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def loosely_equals_empty_string(value: Any) -> bool:
    """``value == ''`` in JavaScript: true for ``""``, ``0``, ``false`` and ``[]``."""
    if isinstance(value, str):
        return value == ""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, list | tuple):
        return js_string(value) == ""
    return False


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _quote(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    if _LONE_SURROGATE.search(quoted):
        quoted = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)
    return quoted


def _ordered_keys(obj: Mapping[Any, Any]) -> list[Any]:
    # JavaScript objects list array-index keys first, in numeric order, then the rest as inserted.
    keys = list(obj)
    indexes = [k for k in keys if isinstance(k, str) and _array_index(k) is not None]
    if not indexes:
        return keys
    rest = [k for k in keys if not (isinstance(k, str) and _array_index(k) is not None)]
    return sorted(indexes, key=int) + rest


def json_stringify(value: Any) -> Any:
    """``JSON.stringify(value)``: compact, unescaped UTF-8, JavaScript number formatting.

    Returns :data:`MISSING` for :data:`MISSING` (``JSON.stringify(undefined)`` is ``undefined``);
    object members that are :data:`MISSING` are skipped and array items become ``null``.

    Raises:
        TypeError: for a value that is not JSON (a ``set``, a ``datetime``...) or a non-string key.
    """
    if value is MISSING:
        return MISSING
    return _stringify(value)


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "null"
        return number_to_string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join("null" if v is MISSING else _stringify(v) for v in value) + "]"
    if isinstance(value, Mapping):
        members = []
        for key in _ordered_keys(value):
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, got {type(key).__name__}")
            member = value[key]
            if member is not MISSING:
                members.append(f"{_quote(key)}:{_stringify(member)}")
        return "{" + ",".join(members) + "}"
    raise TypeError(f"a {type(value).__name__} is not a JSON value")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {text[:20]}... is out of range")
    return number


def json_parse(text: str | bytes) -> Any:
    """Strict ``JSON.parse``: no ``NaN``/``Infinity`` literals, no out-of-range floats.

    Raises:
        ValueError: invalid JSON (including undecodable bytes and integers over Python's digit
            limit).
        RecursionError: nesting too deep for the decoder.
    """
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
