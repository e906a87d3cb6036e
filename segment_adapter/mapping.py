"""Segment mapping-kit mappings, evaluated as Segment's actions runtime evaluates them.

A mapping is the JSON a user writes in a Segment (Actions) destination to build an action's
fields from an event, for example::

    {"email": {"@path": "$.traits.email"},
     "language": {"@if": {"exists": {"@path": "$.traits.language"},
                          "then": {"@path": "$.traits.language"}, "else": "EN"}}}

Raw values pass through; objects whose only key is one ``@directive`` (plus an optional
``_metadata``) are evaluated against the event. Supported directives: ``@path``, ``@if``
(``exists`` / ``blank``), ``@template``, ``@literal``, ``@arrayPath``, ``@case``, ``@replace``,
``@json``, ``@flatten``, ``@merge``, ``@transform`` and ``@excludeWhenNull``; ``@liquid`` is
refused.
A value that resolves to nothing (JavaScript's ``undefined``: a missing path, an ``@if`` with no
branch taken...) removes its key from the result; inside an array it becomes ``None``. ``null``
values are kept.

The semantics are Segment's, quirks included (see ``docs`` and the tests), in particular:

* paths: ``$.`` is stripped once; ``""``, ``"$."`` and ``"."`` are the whole event; a falsy value on
  the way (``null``, ``0``, ``""``, ``false``) is returned as is (``$.a.b`` on ``{"a": null}`` is
  ``null``); arrays and strings answer ``length`` and indexes;
* ``@if`` ``exists`` counts ``""`` as present; ``blank`` counts ``0``, ``false`` and ``""`` as
  blank; an ``else`` that is falsy (``false``, ``0``, ``""``, ``null``) drops the field;
* ``@case``, ``@replace`` and ``@json`` give nothing when their ``value`` is written as a falsy
  constant; ``@replace`` on a value that is not a string, number or boolean gives ``""``;
* ``@merge`` copies ``undefined`` members too, so a later missing value removes an earlier key.

Validation is stricter than Segment's where Segment would fail or silently do nothing at run
time: unknown options in a directive, an ``@case`` operator other than ``lower``/``upper``, a
``@json`` mode other than ``encode``/``decode``, a ``@merge`` direction other than
``left``/``right`` and an ``@if`` without a truthy ``exists``/``blank`` are
:class:`~segment_adapter.errors.MappingError` errors that point at the key.

Compile a mapping once with :class:`CompiledMapping` and evaluate it for each event; paths,
templates and patterns are parsed at compile time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._js import (
    MISSING,
    PathKeys,
    get_path,
    is_number,
    is_truthy,
    js_string,
    json_parse,
    json_stringify,
    loosely_equals_empty_string,
    number_to_string,
    parse_path,
    utf16_length,
)
from .errors import MappingError

__all__ = [
    "DIRECTIVES",
    "MAX_MAPPING_DEPTH",
    "CompiledMapping",
    "evaluate",
    "validate_mapping",
]

DIRECTIVES: Final = frozenset(
    {
        "@arrayPath",
        "@case",
        "@excludeWhenNull",
        "@flatten",
        "@if",
        "@json",
        "@literal",
        "@merge",
        "@path",
        "@replace",
        "@template",
        "@transform",
    }
)
"""The directives this evaluator supports."""

MAX_MAPPING_DEPTH: Final = 64
"""How deeply objects and arrays may nest inside a mapping."""

MAX_PATTERN_LENGTH: Final = 10
MAX_REPLACEMENT_LENGTH: Final = 10
ROOT_DIRECTIVE_KEY: Final = "__segment_internal_directive"

_DIRECTIVE_NAME: Final = re.compile(r"^@[a-z][a-zA-Z0-9]+$")
_TRIPLE_PLACEHOLDER: Final = re.compile(r"\{\{\{([^}]+)\}\}\}")
_DOUBLE_PLACEHOLDER: Final = re.compile(r"\{\{([^}]+)\}\}")

_LEAF_TYPES: Final = frozenset({str, int, float, bool, type(None)})

Node = Callable[[Any], Any]
Pointer = tuple[str, ...]


class _Const:
    """A node whose value does not depend on the event."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, payload: Any) -> Any:
        return self.value


def _pointer(at: Pointer) -> str:
    return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in at)


def _fail(at: Pointer, reason: str) -> MappingError:
    return MappingError(reason, path=_pointer(at))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if value is MISSING:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if is_number(value):
        return "number"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


# ---------------------------------------------------------------------------------------------
# Copying and checking the JSON of a mapping


def _copy_json(value: Any, at: Pointer, depth: int) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(at, f"{value!r} is not a JSON number")
        return value
    if depth >= MAX_MAPPING_DEPTH:
        raise _fail(at, f"nested deeper than {MAX_MAPPING_DEPTH} levels")
    if isinstance(value, list):
        return [_copy_json(item, (*at, str(i)), depth + 1) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(at, f"keys must be strings, got the {_type_name(key)} {key!r}")
            copy[key] = _copy_json(item, (*at, key), depth + 1)
        return copy
    raise _fail(at, f"a {type(value).__name__} is not a JSON value")


def _directive_name(obj: Mapping[str, Any], at: Pointer) -> str | None:
    """The directive an object holds, ``None`` for a plain object; raises for a malformed one."""
    directive_keys = [key for key in obj if key.startswith("@")]
    if not directive_keys:
        return None
    if len(directive_keys) > 1:
        raise _fail(
            at,
            f"holds {len(directive_keys)} directives ({', '.join(directive_keys)}); an object "
            "can hold only one, so nest them instead",
        )
    name = directive_keys[0]
    others = [key for key in obj if not key.startswith("@") and key != "_metadata"]
    if others:
        raise _fail(
            at,
            f"mixes the directive {name} with other keys ({', '.join(map(repr, others))}); "
            "move the directive into a key of its own",
        )
    if name == "@liquid":
        raise _fail(
            (*at, name),
            "@liquid templates are not supported; use @template, @case or @replace instead",
        )
    if name not in DIRECTIVES:
        what = "an invalid directive name" if not _DIRECTIVE_NAME.match(name) else "unknown"
        raise _fail(
            (*at, name),
            f"{name} is {what}; supported directives: {', '.join(sorted(DIRECTIVES))}",
        )
    return name


# ---------------------------------------------------------------------------------------------
# Compiling


def _compile(value: Any, at: Pointer) -> Node:
    """Compile a (copied, JSON-checked) mapping value into a node."""
    if isinstance(value, list):
        items = [_compile(item, (*at, str(i))) for i, item in enumerate(value)]
        if all(isinstance(item, _Const) for item in items):
            return _Const([item.value for item in items])  # type: ignore[attr-defined]
        return lambda payload: [item(payload) for item in items]
    if isinstance(value, dict):
        name = _directive_name(value, at)
        if name is not None:
            return _COMPILERS[name](value[name], (*at, name))
        fields = [(key, _compile(item, (*at, key))) for key, item in value.items()]
        if all(isinstance(node, _Const) for _, node in fields):
            return _Const({key: node.value for key, node in fields})  # type: ignore[attr-defined]
        return lambda payload: {key: node(payload) for key, node in fields}
    return _Const(value)


def _compile_root(mapping: Any, at: Pointer) -> Node:
    if not isinstance(mapping, dict):
        raise _fail(at, f"a mapping must be a JSON object, got {_type_name(mapping)}")
    if ROOT_DIRECTIVE_KEY in mapping:
        mapping = _apply_root_directive(mapping, at)
    return _compile(mapping, at)


def _apply_root_directive(mapping: dict[str, Any], at: Pointer) -> dict[str, Any]:
    # Segment's trick: the other keys become the `mapping` option of the root directive.
    root = mapping[ROOT_DIRECTIVE_KEY]
    where = (*at, ROOT_DIRECTIVE_KEY)
    if not isinstance(root, dict) or len(root) != 1:
        raise _fail(where, "must be an object holding exactly one directive")
    ((name, options),) = root.items()
    if not isinstance(options, dict):
        raise _fail((*where, name), "the root directive's options must be an object")
    others = {key: item for key, item in mapping.items() if key != ROOT_DIRECTIVE_KEY}
    return {name: {**options, "mapping": others}}


def _options(
    value: Any,
    at: Pointer,
    *,
    allowed: tuple[str, ...],
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    name = at[-1]
    if not isinstance(value, dict) or any(key.startswith("@") for key in value):
        raise _fail(
            at,
            f"{name} takes an object of options ({', '.join(allowed)}), got {_type_name(value)}",
        )
    for key in value:
        if key not in allowed:
            raise _fail(
                (*at, key), f"unknown option {key!r} for {name}; expected {', '.join(allowed)}"
            )
    for key in required:
        if key not in value:
            raise _fail(at, f"{name} needs the option {key!r}")
    return value


def _is_directive(value: Any) -> bool:
    return isinstance(value, dict) and any(key.startswith("@") for key in value)


def _string_or_directive(value: Any, at: Pointer, what: str) -> Node | str:
    """A raw string is returned as is; a directive is compiled; anything else is refused."""
    if isinstance(value, str):
        return value
    if _is_directive(value):
        return _compile(value, at)
    raise _fail(at, f"{what} must be a string or a directive, got {_type_name(value)}")


def _dynamic_string(node: Node, payload: Any, at: Pointer, directive: str) -> str:
    value = node(payload)
    if not isinstance(value, str):
        raise _fail(
            at, f"{directive}: expected the directive to give a string, got {_type_name(value)}"
        )
    return value


def _path_keys(path: str, at: Pointer) -> PathKeys:
    keys = parse_path(path.replace("$.", "", 1))
    if keys is None:
        raise _fail(at, f"the path {path!r} names no key; write it like $.properties.total")
    return keys


# @path ----------------------------------------------------------------------------------------


def _compile_path(value: Any, at: Pointer) -> Node:
    if isinstance(value, list):
        if not all(isinstance(key, str) for key in value):
            raise _fail(at, "a path given as an array must be an array of key strings")
        keys = tuple(value)
        return lambda payload: get_path(payload, keys)
    if not isinstance(value, str) and not _is_directive(value):
        raise _fail(
            at,
            "@path must be a path such as $.traits.email, an array of keys or a directive, "
            f"got {_type_name(value)}",
        )
    source = _string_or_directive(value, at, "@path")
    if isinstance(source, str):
        static_keys = _path_keys(source, at)
        return lambda payload: get_path(payload, static_keys)

    def dynamic(payload: Any) -> Any:
        path = _dynamic_string(source, payload, at, "@path")
        return get_path(payload, _path_keys(path, at))

    return dynamic


# @template ------------------------------------------------------------------------------------


def _render(template: str, payload: Any, at: Pointer) -> str:
    def substitute(match: re.Match[str]) -> str:
        keys = parse_path(match.group(1).strip())
        if keys is None:
            raise _fail(at, f"the placeholder {match.group()!r} names no key")
        value = get_path(payload, keys)
        return "" if value is None or value is MISSING else js_string(value)

    # Segment substitutes {{{x}}} first, then {{x}} in the result; both are unescaped.
    return _DOUBLE_PLACEHOLDER.sub(substitute, _TRIPLE_PLACEHOLDER.sub(substitute, template))


def _compile_template(value: Any, at: Pointer) -> Node:
    source = _string_or_directive(value, at, "@template")
    if isinstance(source, str):
        template = source
        placeholders = [
            *_TRIPLE_PLACEHOLDER.finditer(template),
            *_DOUBLE_PLACEHOLDER.finditer(_TRIPLE_PLACEHOLDER.sub("", template)),
        ]
        for match in placeholders:
            if parse_path(match.group(1).strip()) is None:
                raise _fail(at, f"the placeholder {match.group()!r} names no key")
        if "{{" not in template:
            return _Const(template)
        return lambda payload: _render(template, payload, at)
    return lambda payload: _render(_dynamic_string(source, payload, at, "@template"), payload, at)


# @literal, @excludeWhenNull -------------------------------------------------------------------


def _compile_literal(value: Any, at: Pointer) -> Node:
    return _compile(value, at)


def _without_nulls(value: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _without_nulls(item) if isinstance(item, Mapping) else item
        for key, item in value.items()
        if item is not None
    }


def _compile_exclude_when_null(value: Any, at: Pointer) -> Node:
    node = _compile(value, at)

    def exclude_when_null(payload: Any) -> Any:
        result = node(payload)
        if result is None:
            return MISSING
        if isinstance(result, Mapping):
            return _without_nulls(result)
        return result

    return exclude_when_null


# @if ------------------------------------------------------------------------------------------


def _compile_if(value: Any, at: Pointer) -> Node:
    options = _options(value, at, allowed=("exists", "blank", "then", "else"))
    if not is_truthy(options.get("exists", MISSING)) and not is_truthy(
        options.get("blank", MISSING)
    ):
        raise _fail(
            at,
            '@if needs an "exists" or a "blank" condition (a directive such as '
            '{"@path": "$.traits.email"})',
        )
    test_blank = "exists" not in options
    condition = _compile(
        options["blank" if test_blank else "exists"], (*at, "blank" if test_blank else "exists")
    )
    then = _compile(options["then"], (*at, "then")) if "then" in options else None
    # Segment takes the else branch only when it is truthy: a falsy else drops the field.
    otherwise = _compile(options["else"], (*at, "else")) if is_truthy(options.get("else")) else None

    def if_(payload: Any) -> Any:
        tested = condition(payload)
        holds = tested is not None and tested is not MISSING
        if holds and test_blank:
            holds = not loosely_equals_empty_string(tested)
        if holds:
            return then(payload) if then is not None else MISSING
        return otherwise(payload) if otherwise is not None else MISSING

    return if_


# @case ----------------------------------------------------------------------------------------


def _compile_case(value: Any, at: Pointer) -> Node:
    options = _options(value, at, allowed=("operator", "value"), required=("operator",))
    operator = options["operator"]
    if operator not in ("lower", "upper"):
        raise _fail(
            (*at, "operator"), f'@case operator must be "lower" or "upper", got {operator!r}'
        )
    if not is_truthy(options.get("value")):
        return _Const(MISSING)
    source = _string_or_directive(options["value"], (*at, "value"), "@case value")
    node = _Const(source) if isinstance(source, str) else source
    convert = str.lower if operator == "lower" else str.upper

    def case(payload: Any) -> Any:
        result = node(payload)
        return convert(result) if isinstance(result, str) else result

    return case


# @replace -------------------------------------------------------------------------------------


def _expand_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """A re.sub callback that applies a JavaScript replacement string (``$&``, ``$$``...)."""
    if "$" not in replacement:
        return lambda match: replacement

    def expand(match: re.Match[str]) -> str:
        text = match.string
        out: list[str] = []
        i, n = 0, len(replacement)
        while i < n:
            char = replacement[i]
            follower = replacement[i + 1] if i + 1 < n else ""
            if char == "$" and follower in ("$", "&", "`", "'"):
                out.append(
                    {
                        "$": "$",
                        "&": match.group(),
                        "`": text[: match.start()],
                        "'": text[match.end() :],
                    }[follower]
                )
                i += 2
            else:
                out.append(char)
                i += 1
        return "".join(out)

    return expand


def _replace_option(options: dict[str, Any], key: str, at: Pointer, *, pattern: bool) -> str:
    value = options.get(key)
    if value is None:
        return ""
    limit = MAX_PATTERN_LENGTH if pattern else MAX_REPLACEMENT_LENGTH
    if not isinstance(value, str):
        raise _fail((*at, key), f"@replace {key} must be a string, got {_type_name(value)}")
    if utf16_length(value) > limit:
        raise _fail((*at, key), f"@replace {key} must be at most {limit} characters, got {value!r}")
    return value


def _flag_option(options: dict[str, Any], key: str, at: Pointer, default: bool) -> bool:
    value = options.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _fail((*at, key), f"@replace {key} must be true or false, got {_type_name(value)}")
    return value


def _compile_replace(value: Any, at: Pointer) -> Node:
    options = _options(
        value,
        at,
        allowed=(
            "value",
            "pattern",
            "replacement",
            "ignorecase",
            "global",
            "pattern2",
            "replacement2",
        ),
        required=("pattern", "value"),
    )
    pattern = _replace_option(options, "pattern", at, pattern=True)
    if not pattern:
        raise _fail((*at, "pattern"), "@replace pattern must not be empty")
    flags = re.IGNORECASE if _flag_option(options, "ignorecase", at, False) else 0
    count = 0 if _flag_option(options, "global", at, True) else 1
    passes = [
        (
            re.compile(re.escape(pattern), flags),
            _expand_replacement(_replace_option(options, "replacement", at, pattern=False)),
        )
    ]
    pattern2 = _replace_option(options, "pattern2", at, pattern=True)
    replacement2 = _replace_option(options, "replacement2", at, pattern=False)
    if pattern2:
        passes.append((re.compile(re.escape(pattern2), flags), _expand_replacement(replacement2)))
    if not is_truthy(options["value"]):
        return _Const(MISSING)
    source = _string_or_directive(options["value"], (*at, "value"), "@replace value")
    node = _Const(source) if isinstance(source, str) else source

    def replace(payload: Any) -> Any:
        text = node(payload)
        if isinstance(text, bool):
            text = "true" if text else "false"
        elif is_number(text):
            text = number_to_string(text)
        elif not isinstance(text, str):
            return ""
        for regex, replacement in passes:
            text = regex.sub(replacement, text, count=count)
        return text

    return replace


# @arrayPath -----------------------------------------------------------------------------------


def _compile_array_path(value: Any, at: Pointer) -> Node:
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        raise _fail(at, "@arrayPath takes an array: [path] or [path, item shape]")
    source = _string_or_directive(value[0], (*at, "0"), "the @arrayPath path")
    root_of: Node
    if isinstance(source, str):
        keys = _path_keys(source, (*at, "0"))
        root_of = lambda payload: get_path(payload, keys)  # noqa: E731
    else:
        root_of = source
    shape = value[1] if len(value) == 2 else None
    shape_node = _compile(shape, (*at, "1"))
    # Segment maps items only for an object-valued, non-empty shape (a directive counts).
    if not (isinstance(shape, dict) and shape):
        return root_of

    def array_path(payload: Any) -> Any:
        root = root_of(payload)
        if isinstance(root, Mapping):
            return [shape_node(root)]
        if isinstance(root, list | tuple):
            return [shape_node(item) for item in root]
        return root

    return array_path


# @flatten -------------------------------------------------------------------------------------


def _flatten_into(
    out: dict[str, Any], value: Any, prefix: str, separator: str, omit_arrays: bool
) -> None:
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple) and not omit_arrays:
        items = ((str(i), item) for i, item in enumerate(value))
    else:
        out[prefix] = value
        return
    for key, item in items:
        name = f"{prefix}{separator}{key}" if prefix else f"{key}"
        _flatten_into(out, item, name, separator, omit_arrays)


def _compile_flatten(value: Any, at: Pointer) -> Node:
    options = _options(
        value, at, allowed=("value", "separator", "omitArrays"), required=("separator",)
    )
    if not is_truthy(options["separator"]):
        raise _fail((*at, "separator"), '@flatten separator must be a non-empty string such as "."')
    source = _string_or_directive(options["separator"], (*at, "separator"), "@flatten separator")
    omit_arrays = options.get("omitArrays")
    if omit_arrays is not None and not isinstance(omit_arrays, bool):
        raise _fail(
            (*at, "omitArrays"),
            f"@flatten omitArrays must be true or false, got {_type_name(omit_arrays)}",
        )
    omit = bool(omit_arrays)
    node = _compile(options["value"], (*at, "value")) if "value" in options else _Const(MISSING)

    def flatten(payload: Any) -> Any:
        separator = (
            source if isinstance(source, str) else _dynamic_string(source, payload, at, "@flatten")
        )
        out: dict[str, Any] = {}
        _flatten_into(out, node(payload), "", separator, omit)
        return out

    return flatten


# @json ----------------------------------------------------------------------------------------


def _compile_json(value: Any, at: Pointer) -> Node:
    options = _options(value, at, allowed=("mode", "value"), required=("mode", "value"))
    mode = options["mode"]
    if mode not in ("encode", "decode"):
        raise _fail((*at, "mode"), f'@json mode must be "encode" or "decode", got {mode!r}')
    if not is_truthy(options["value"]):
        raise _fail((*at, "value"), "@json value must not be empty (Segment refuses a falsy value)")
    node = _compile(options["value"], (*at, "value"))

    if mode == "encode":

        def encode(payload: Any) -> Any:
            try:
                return json_stringify(node(payload))
            except TypeError as exc:
                raise _fail(at, f"@json cannot encode the value: {exc}") from None

        return encode

    def decode(payload: Any) -> Any:
        text = node(payload)
        if not isinstance(text, str):
            return text
        try:
            return json_parse(text)
        except (ValueError, RecursionError):
            return text

    return decode


# @merge ---------------------------------------------------------------------------------------


def _assign(target: dict[str, Any], source: Any) -> None:
    # Object.assign: objects copy their members (undefined included), arrays and strings their
    # indexes, anything else adds nothing.
    if isinstance(source, Mapping):
        target.update(source)
    elif isinstance(source, list | tuple | str):
        target.update((str(i), item) for i, item in enumerate(source))


def _compile_merge(value: Any, at: Pointer) -> Node:
    options = _options(
        value, at, allowed=("objects", "direction"), required=("objects", "direction")
    )
    objects = options["objects"]
    if not isinstance(objects, list):
        raise _fail((*at, "objects"), f"@merge objects must be an array, got {_type_name(objects)}")
    nodes: list[Node] = []
    for i, item in enumerate(objects):
        if not isinstance(item, dict):
            raise _fail(
                (*at, "objects", str(i)),
                f"@merge objects must be objects or directives, got {_type_name(item)}",
            )
        nodes.append(_compile(item, (*at, "objects", str(i))))
    direction = options["direction"]
    if isinstance(direction, str):
        if direction not in ("left", "right"):
            raise _fail(
                (*at, "direction"), f'@merge direction must be "left" or "right", got {direction!r}'
            )
        direction_node: Node = _Const(direction)
    elif _is_directive(direction):
        direction_node = _compile(direction, (*at, "direction"))
    else:
        raise _fail(
            (*at, "direction"),
            f'@merge direction must be "left" or "right", got {_type_name(direction)}',
        )

    def merge(payload: Any) -> Any:
        left_wins = direction_node(payload) == "left"
        resolved = [node(payload) for node in nodes]
        if left_wins:
            resolved.reverse()
        out: dict[str, Any] = {}
        for item in resolved:
            _assign(out, item)
        return out

    return merge


# @transform -----------------------------------------------------------------------------------


def _compile_transform(value: Any, at: Pointer) -> Node:
    options = _options(value, at, allowed=("apply", "mapping"), required=("apply", "mapping"))
    apply = _compile_root(options["apply"], (*at, "apply"))
    if not is_truthy(options["mapping"]):
        raise _fail((*at, "mapping"), "@transform mapping must not be empty")
    mapping = _compile(options["mapping"], (*at, "mapping"))

    def transform(payload: Any) -> Any:
        if not isinstance(payload, Mapping):
            raise _fail(at, f"@transform needs an object to apply to, got {_type_name(payload)}")
        return mapping(_strip_undefined(apply(payload), keep_array_holes=True))

    return transform


_COMPILERS: Final[dict[str, Callable[[Any, Pointer], Node]]] = {
    "@arrayPath": _compile_array_path,
    "@case": _compile_case,
    "@excludeWhenNull": _compile_exclude_when_null,
    "@flatten": _compile_flatten,
    "@if": _compile_if,
    "@json": _compile_json,
    "@literal": _compile_literal,
    "@merge": _compile_merge,
    "@path": _compile_path,
    "@replace": _compile_replace,
    "@template": _compile_template,
    "@transform": _compile_transform,
}


# ---------------------------------------------------------------------------------------------
# Removing undefined


def _strip_undefined(value: Any, *, keep_array_holes: bool) -> Any:
    """Copy ``value`` without :data:`MISSING` object members.

    Array items that are :data:`MISSING` stay (``keep_array_holes``, as in Segment's own pass) or
    become ``None`` (what they are once the payload is serialised to JSON).
    """
    if type(value) in _LEAF_TYPES:
        return value
    if isinstance(value, Mapping):
        return {
            key: item
            if type(item) in _LEAF_TYPES
            else _strip_undefined(item, keep_array_holes=keep_array_holes)
            for key, item in value.items()
            if item is not MISSING
        }
    if isinstance(value, list | tuple):
        hole = MISSING if keep_array_holes else None
        return [
            hole if item is MISSING else _strip_undefined(item, keep_array_holes=keep_array_holes)
            for item in value
        ]
    return value


# ---------------------------------------------------------------------------------------------
# Public API


class CompiledMapping:
    """A validated mapping, ready to evaluate against many events.

    Compiling checks the whole mapping and parses every path, template and pattern once, so
    :meth:`evaluate` does no validation or parsing per event. Instances are immutable, can be
    shared between tasks and threads, and pickle (by their source).

    Args:
        mapping: The mapping JSON: an object of fields (raw values or directives), as pasted from
            Segment. It is copied, so later changes to it do not affect the compiled mapping.

    Raises:
        MappingError: the mapping is invalid; ``path`` points at the offending key.
    """

    __slots__ = ("_root", "_source")

    def __init__(self, mapping: object) -> None:
        source = _copy_json(mapping, (), 0)
        self._root = _compile_root(source, ())
        self._source = _copy_json(source, (), 0)

    @property
    def source(self) -> dict[str, Any]:
        """A copy of the mapping JSON this was compiled from."""
        copy: dict[str, Any] = _copy_json(self._source, (), 0)
        return copy

    def evaluate(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Evaluate the mapping against one event.

        Args:
            event: The event JSON (``SegmentEvent.raw`` for a parsed event).

        Returns:
            A new dict of the fields that resolved to something; fields that resolved to nothing
            are absent, ``None`` means the value was ``null``. The result shares nothing with
            ``event`` or the mapping.

        Raises:
            MappingError: ``event`` is not an object, a directive met a value it cannot work with
                (for example a ``@path`` whose nested directive gave a number), or the data nest
                too deeply. No other exception escapes.
        """
        if not isinstance(event, Mapping):
            raise MappingError(f"an event must be a JSON object, got {_type_name(event)}")
        try:
            result = self._root(event)
            if result is MISSING:
                return {}
            if not isinstance(result, Mapping):
                raise MappingError(
                    f"the mapping gave {_type_name(result)}; a mapping must produce an object"
                )
            cleaned: dict[str, Any] = _strip_undefined(result, keep_array_holes=False)
            return cleaned
        except RecursionError:
            raise MappingError("the event or the mapping nests too deeply to evaluate") from None

    def __repr__(self) -> str:
        return f"CompiledMapping({self._source!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompiledMapping):
            return NotImplemented
        return bool(self._source == other._source)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (CompiledMapping, (self._source,))


def validate_mapping(mapping: object) -> None:
    """Check a mapping without keeping the compiled form.

    Raises:
        MappingError: the mapping is invalid; ``path`` points at the offending key (for example
            ``/embeddedData/@if`` for an ``@if`` without a condition).
    """
    CompiledMapping(mapping)


def evaluate(mapping: CompiledMapping | object, event: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``mapping`` (unless already compiled) and evaluate it against ``event``.

    For many events, compile once with :class:`CompiledMapping` instead.

    Raises:
        MappingError: the mapping is invalid or cannot be evaluated against ``event``.
    """
    compiled = mapping if isinstance(mapping, CompiledMapping) else CompiledMapping(mapping)
    return compiled.evaluate(event)
