"""The one cattrs converter between Python models and Qualtrics' wire format.

Rules, applied to every attrs model:

* attribute ``first_name`` is wire key ``firstName``; a field can name its wire key explicitly
  (``wire_field(wire="extRef")``) and accept other spellings Qualtrics uses for the same value in
  other endpoints (``aliases=("externalDataReference",)``), so one Python model fits list, get
  and search;
* keys the model does not know are kept in its ``extra`` mapping (when it has one), so a new
  Qualtrics field never breaks parsing and is never lost;
* ``None`` attributes are omitted from request bodies (Qualtrics rejects nulls);
* dates arrive as epoch milliseconds or as strings and become aware UTC ``datetime`` objects;
* booleans, numbers and strings are checked rather than blindly coerced (``"false"`` is not true).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs

from ._errors import ResponseValidationError, ValidationError

__all__ = ["converter", "format_qualtrics_datetime", "structure", "unstructure", "wire_field"]

T = TypeVar("T")

_WIRE = "qualtrics_wire"
_ALIASES = "qualtrics_aliases"
EXTRA = "extra"

converter = cattrs.Converter()


def wire_field(
    *,
    wire: str | None = None,
    aliases: tuple[str, ...] = (),
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    repr: bool = True,
) -> Any:
    """Declare a model attribute with an explicit wire key and accepted alternative keys."""
    metadata = {_WIRE: wire, _ALIASES: aliases}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata, repr=repr)
    return attrs.field(default=default, metadata=metadata, repr=repr)


def to_camel(name: str) -> str:
    """``first_name`` -> ``firstName``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _wire_names(field: attrs.Attribute[Any]) -> tuple[str, ...]:
    primary = field.metadata.get(_WIRE) or to_camel(field.name)
    return (primary, *field.metadata.get(_ALIASES, ()))


# --- scalar hooks: accept what Qualtrics sends, refuse what would be a silent lie ---------------


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"expected a string, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"expected a boolean, got {value!r}")


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise ValueError(f"expected a number, got {value!r}")


def parse_datetime(value: Any) -> dt.datetime:
    """Parse epoch milliseconds or an ISO-8601 / ``YYYY-MM-DD HH:MM:SS`` string as aware UTC.

    Strings without an offset are taken as UTC (Qualtrics' convention).

    Raises:
        ValueError: for anything else.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1000.0, tz=dt.timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_datetime(int(text))
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.astimezone(dt.timezone.utc)
    raise ValueError(f"expected a date (epoch milliseconds or string), got {value!r}")


def format_qualtrics_datetime(value: dt.datetime, *, field: str = "date") -> str:
    """Render an aware datetime as Qualtrics' UTC ``YYYY-MM-DD HH:MM:SS``.

    Raises:
        ValidationError: for a naive datetime (its time zone would be a guess).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{field} must be a timezone-aware datetime (for example "
            "datetime.now(timezone.utc)); a naive datetime's time zone would be a guess",
            field=field,
        )
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(float, _structure_float)
converter.register_structure_hook(dt.datetime, lambda v, _: parse_datetime(v))
converter.register_structure_hook(Any, lambda v, _: v)
converter.register_unstructure_hook(
    dt.datetime, lambda v: format_qualtrics_datetime(v, field="datetime")
)


# --- attrs models ---------------------------------------------------------------------------------


def _field_hook(type_: Any) -> Callable[[Any, Any], Any]:
    """The structure hook of one model field.

    For ``X | None`` the hook of ``X`` is looked up once here instead of on every value (cattrs'
    generic optional hook dispatches per call; that was the converter's main cost).
    """
    args = typing.get_args(type_)
    if (
        typing.get_origin(type_) in (typing.Union, types.UnionType)
        and len(args) == 2
        and type(None) in args
    ):
        inner = args[0] if args[1] is type(None) else args[1]
        inner_hook = converter.get_structure_hook(inner)

        def structure_optional(value: Any, _: Any) -> Any:
            return None if value is None else inner_hook(value, inner)

        return structure_optional
    return converter.get_structure_hook(type_)


_MISSING = object()


def _fast_check(type_: Any) -> str | None:
    """A cheap inline test that accepts a value as-is for the common scalar field types.

    Values passing it are exactly what the hook would return unchanged, so the generated code can
    skip the hook call; anything else still goes through the hook (and its checks).
    """
    checks = {
        str: "v.__class__ is str",
        bool: "v.__class__ is bool",
        int: "v.__class__ is int",
        typing.Any: "True",
    }
    args = typing.get_args(type_)
    optional = (
        typing.get_origin(type_) in (typing.Union, types.UnionType)
        and len(args) == 2
        and type(None) in args
    )
    inner = (args[0] if args[1] is type(None) else args[1]) if optional else type_
    check = checks.get(inner)
    if check is None:
        return "v is None" if optional else None
    return f"v is None or {check}" if optional else check


def _make_structure(cls: Any) -> Callable[[Any, Any], Any]:
    """Generate a structure function specialised for ``cls`` (as cattrs does for its own hooks).

    The generated code looks each field up by its wire name(s), accepts common scalar values
    inline, calls the field's hook otherwise, and gathers unknown keys into ``extra``.
    """
    attrs.resolve_types(cls)
    namespace: dict[str, Any] = {
        "Mapping": Mapping,
        "MISSING": _MISSING,
        "cls": cls,
        "field_error": _field_error,
    }
    lines = [
        "def structure_model(data, _):",
        "    if not isinstance(data, Mapping):",
        "        raise ValueError(",
        f"            'expected an object for {cls.__name__}, got ' + type(data).__name__",
        "        )",
        "    kw = {}",
    ]
    known: set[str] = set()
    has_extra = False
    for index, field in enumerate(attrs.fields(cls)):
        if field.name == EXTRA:
            has_extra = True
            continue
        if not field.init:
            continue
        names = _wire_names(field)
        known.update(names)
        namespace[f"h{index}"] = _field_hook(field.type)
        namespace[f"t{index}"] = field.type
        lines.append(f"    v = data.get({names[0]!r}, MISSING)")
        for alias in names[1:]:
            lines.append(f"    if v is MISSING: v = data.get({alias!r}, MISSING)")
        lines.append("    if v is not MISSING:")
        check = _fast_check(field.type)
        indent = "        "
        if check is not None:
            lines.append(f"        if {check}: kw[{field.alias!r}] = v")
            lines.append("        else:")
            indent = "            "
        lines += [
            f"{indent}try: kw[{field.alias!r}] = h{index}(v, t{index})",
            f"{indent}except Exception as exc:",
            f"{indent}    raise field_error(cls, {field.name!r}, {names!r}, exc) from exc",
        ]
    if has_extra:
        namespace["known"] = frozenset(known)
        lines.append(f"    kw[{EXTRA!r}] = {{k: v for k, v in data.items() if k not in known}}")
    lines += [
        "    try: return cls(**kw)",
        "    except TypeError as exc:",
        f"        raise ValueError({cls.__name__!r} + ': ' + str(exc)) from exc",
    ]
    exec(compile("\n".join(lines), f"<structure {cls.__qualname__}>", "exec"), namespace)
    structure_model: Callable[[Any, Any], Any] = namespace["structure_model"]
    return structure_model


def _field_error(cls: Any, name: str, wire: tuple[str, ...], exc: Exception) -> ValueError:
    return ValueError(f"{cls.__name__}.{name} (wire {' / '.join(wire)}): {exc}")


def _make_unstructure(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    attrs.resolve_types(cls)
    specs = [
        (field.name, _wire_names(field)[0])
        for field in attrs.fields(cls)
        if field.name != EXTRA and field.init
    ]
    has_extra = any(field.name == EXTRA for field in attrs.fields(cls))

    def unstructure_model(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if has_extra:
            out.update(getattr(obj, EXTRA))
        for name, key in specs:
            value = getattr(obj, name)
            if value is not None:
                out[key] = converter.unstructure(value)
        return out

    return unstructure_model


converter.register_structure_hook_factory(attrs.has, _make_structure)
converter.register_unstructure_hook_factory(attrs.has, _make_unstructure)


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from decoded JSON.

    Raises:
        ResponseValidationError: when the data does not fit the model; the message names the model
            and the field.
    """
    try:
        return converter.structure(data, cls)
    except (ValueError, TypeError, cattrs.BaseValidationError) as exc:
        raise ResponseValidationError(
            f"response did not match {getattr(cls, '__name__', cls)}: {exc}", body=data
        ) from exc


def unstructure(obj: Any) -> Any:
    """Render a model (or container of models) as wire JSON: camelCase keys, no ``None`` values."""
    return converter.unstructure(obj)
