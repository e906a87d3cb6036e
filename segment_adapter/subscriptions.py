"""Subscriptions: which events trigger an action, in Segment's subscription (FQL) syntax.

A subscription is a condition such as ``type = "track" and event = "Order Completed"``. This module
parses the subset of FQL that Segment's actions runtime accepts and evaluates it against event
JSON::

    condition := or ;  or := and ("or" and)* ;  and := unary (("and" | ",") unary)*
    unary     := "!" function | "(" or ")" | function | field operator value
    function  := ("contains" | "match") "(" field "," string ")"
    field     := type | event | name | userId | properties.<path> | traits.<path> | context.<path>
    operator  := = | != | < | <= | > | >=
    value     := "string" | 'string' | number | true | false | null

Differences from Segment's runtime, on purpose:

* ``and`` (and the comma) binds tighter than ``or``: ``a or b and c`` is ``a or (b and c)``.
  Segment applies the *last* conjunction of a level to all of it.
* An unknown field (``foo = "bar"``) is a :class:`SubscriptionSyntaxError` with its position;
  Segment silently drops the condition, which widens the subscription.
* The comma in the hosted Qualtrics destination's default ``type = "track", event = "Transaction
  Created"`` means ``and`` (Segment skips it, with the same effect).
* ``traits.*`` reads the top-level ``traits`` and, for a trait that is not there, ``context.traits``
  (where track events carry traits); Segment reads only ``traits``.
* ``= null`` / ``!= null`` test absence / presence on every field.
* ``match()`` is a glob over the whole value (``*`` any run of characters, ``?`` one character,
  ``\\`` escapes); Segment handles only a leading or trailing ``*``.

Comparison rules: ``= "x"`` holds for the string ``"x"`` only; ``= 5`` for the number 5 only
(``true`` is not a number); ``= true`` / ``= false`` for booleans only; ``<``, ``<=``, ``>``, ``>=``
need a number on both sides; ``!=`` is the negation of ``=`` (so it holds for a missing field).
``contains()`` and ``match()`` need a string, and so do their negations ``!contains()`` and
``!match()`` (a missing field matches neither). On ``type``, ``event``, ``name`` and ``userId`` a
number or boolean value is compared as the text it is written as (``userId = 123`` matches
``"123"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._js import MISSING, PathKeys, get_path, is_number
from .errors import SubscriptionSyntaxError

__all__ = ["FIELDS", "SubscriptionFilter", "parse_subscription"]

FIELDS: Final = ("type", "event", "name", "userId", "properties.*", "traits.*", "context.*")
"""The fields a subscription may test."""

_TOP_FIELDS: Final = frozenset({"type", "event", "name", "userId"})
_PATH_FIELDS: Final = frozenset({"properties", "traits", "context"})
_KEYWORDS: Final = frozenset({"and", "or", "null", "true", "false"})
_OPERATORS: Final = ("<=", ">=", "!=", "=", "<", ">")
_MAX_NESTING: Final = 32
_DIGITS: Final = frozenset("0123456789")
_NUMBER: Final = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_FIELD_HELP: Final = "type, event, name, userId, properties.<name>, traits.<name> or context.<name>"


# ---------------------------------------------------------------------------------------------
# Lexer


@attrs.frozen
class _Token:
    # field, string, number, op, bang, and, or, comma, lparen, rparen, null, true, false, eof
    kind: str
    text: str
    position: int
    value: Any = None


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def fail(self, reason: str, position: int) -> SubscriptionSyntaxError:
        return SubscriptionSyntaxError(reason, text=self.text, position=position)

    def tokens(self) -> list[_Token]:
        out: list[_Token] = []
        text, n = self.text, len(self.text)
        while True:
            while self.i < n and text[self.i] in " \t\r\n":
                self.i += 1
            if self.i >= n:
                out.append(_Token("eof", "", n))
                return out
            out.append(self._token())

    def _token(self) -> _Token:
        text, start = self.text, self.i
        char = text[start]
        simple = {"(": "lparen", ")": "rparen", ",": "comma"}
        if char in simple:
            self.i += 1
            return _Token(simple[char], char, start)
        if char in "\"'":
            return self._string()
        if char in _DIGITS or (char in "+-" and text[start + 1 : start + 2] in _DIGITS):
            return self._number()
        if char == "=" and text.startswith("==", start):
            raise self.fail("'==' is not an operator; write '=' to compare", start)
        for op in _OPERATORS:
            if text.startswith(op, start):
                self.i += len(op)
                return _Token("op", op, start)
        if char == "!":
            self.i += 1
            return _Token("bang", "!", start)
        if char.isalpha() or char in "_\\":
            return self._field()
        raise self.fail(f"unexpected character {char!r}", start)

    def _string(self) -> _Token:
        text, start = self.text, self.i
        quote = text[start]
        chars: list[str] = []
        i = start + 1
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                chars.append(text[i + 1])
                i += 2
                continue
            if char == quote:
                self.i = i + 1
                return _Token("string", text[start : i + 1], start, "".join(chars))
            chars.append(char)
            i += 1
        raise self.fail(f"unterminated string: add the closing {quote}", start)

    def _number(self) -> _Token:
        text, start = self.text, self.i
        match = _NUMBER.match(text, start)
        assert match is not None  # the caller saw a digit
        end = match.end()
        if end < len(text) and text[end] not in " \t\r\n),":
            raise self.fail(f"malformed number {text[start : end + 1]!r}", start)
        literal = match.group()
        try:
            number: float | int = float(literal) if match.group(1) else int(literal)
        except ValueError:
            raise self.fail("number has too many digits", start) from None
        if isinstance(number, float) and not math.isfinite(number):
            raise self.fail("number is out of range", start)
        self.i = end
        return _Token("number", literal.lstrip("+"), start, number)

    def _field(self) -> _Token:
        text, start = self.text, self.i
        keys: list[str] = []
        current: list[str] = []
        escaped = False
        i = start
        while i < len(text):
            char = text[i]
            if char == "\\":
                if i + 1 >= len(text):
                    raise self.fail("a backslash must escape a character", i)
                current.append(text[i + 1])
                escaped = True
                i += 2
            elif char.isalnum() or char in "_-$@":
                current.append(char)
                i += 1
            elif char == ".":
                if not current:
                    raise self.fail("empty name in a field path", i)
                keys.append("".join(current))
                current = []
                i += 1
            else:
                break
        if not current:
            raise self.fail("a field path cannot end with '.'", i)
        keys.append("".join(current))
        self.i = i
        word = text[start:i]
        if len(keys) == 1 and not escaped and word in _KEYWORDS:
            return _Token(word, word, start)
        return _Token("field", word, start, tuple(keys))


# ---------------------------------------------------------------------------------------------
# Syntax tree


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@attrs.frozen
class _Field:
    """A field of the event: one of the top-level fields, or a path under a container."""

    root: str
    keys: PathKeys

    def value(self, event: Mapping[str, Any]) -> Any:
        if self.root in _TOP_FIELDS:
            return event.get(self.root, MISSING)
        if self.root != "traits":
            return get_path(event.get(self.root, MISSING), self.keys)
        traits = event.get("traits")
        if isinstance(traits, Mapping) and self.keys[0] in traits:
            return get_path(traits, self.keys)
        context = event.get("context")
        context_traits = context.get("traits") if isinstance(context, Mapping) else None
        if isinstance(context_traits, Mapping):
            return get_path(context_traits, self.keys)
        return MISSING

    def render(self) -> str:
        if not self.keys:
            return self.root
        escaped = [re.sub(r"([^A-Za-z0-9_\-$@])", r"\\\1", key) for key in self.keys]
        return ".".join([self.root, *escaped])


@attrs.frozen
class _Compare:
    """``field op value``: equality, numeric comparison, booleans and null."""

    field: _Field
    operator: str
    expected: Any  # str, int, float, bool or None
    literal: str

    def matches(self, event: Mapping[str, Any]) -> bool:
        actual = self.field.value(event)
        expected = self.expected
        if self.operator in ("=", "!="):
            if expected is None:
                holds = actual is None or actual is MISSING
            elif isinstance(expected, bool):
                holds = isinstance(actual, bool) and actual is expected
            elif isinstance(expected, str):
                holds = isinstance(actual, str) and actual == expected
            else:
                holds = is_number(actual) and actual == expected
            return holds if self.operator == "=" else not holds
        if not is_number(actual):
            return False
        if self.operator == "<":
            return bool(actual < expected)
        if self.operator == "<=":
            return bool(actual <= expected)
        if self.operator == ">":
            return bool(actual > expected)
        return bool(actual >= expected)

    def render(self) -> str:
        return f"{self.field.render()} {self.operator} {self.literal}"


def _glob(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


@attrs.frozen
class _Function:
    """``contains(field, "x")`` or ``match(field, "glob")``, possibly negated with ``!``."""

    name: str
    field: _Field
    argument: str
    negate: bool
    glob: re.Pattern[str] | None = attrs.field(default=None, eq=False)

    def matches(self, event: Mapping[str, Any]) -> bool:
        actual = self.field.value(event)
        if not isinstance(actual, str):
            return False
        if self.glob is not None:
            holds = self.glob.fullmatch(actual) is not None
        else:
            holds = self.argument in actual
        return holds != self.negate

    def render(self) -> str:
        bang = "!" if self.negate else ""
        return f"{bang}{self.name}({self.field.render()}, {_quote(self.argument)})"


@attrs.frozen
class _All:
    children: tuple[_Node, ...]

    def matches(self, event: Mapping[str, Any]) -> bool:
        return all(child.matches(event) for child in self.children)

    def render(self) -> str:
        return " and ".join(
            f"({child.render()})" if isinstance(child, _Any) else child.render()
            for child in self.children
        )


@attrs.frozen
class _Any:
    children: tuple[_Node, ...]

    def matches(self, event: Mapping[str, Any]) -> bool:
        return any(child.matches(event) for child in self.children)

    def render(self) -> str:
        return " or ".join(
            f"({child.render()})" if isinstance(child, _All) else child.render()
            for child in self.children
        )


_Node = _Compare | _Function | _All | _Any


# ---------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.lexer = _Lexer(text)
        self.tokens = self.lexer.tokens()
        self.i = 0
        self.depth = 0

    def fail(self, reason: str, token: _Token) -> SubscriptionSyntaxError:
        return self.lexer.fail(reason, token.position)

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "eof":
            self.i += 1
        return token

    def parse(self) -> _Node:
        if self.peek().kind == "eof":
            raise self.fail(
                'the subscription is empty; write a condition like type = "track"', self.peek()
            )
        node = self.disjunction()
        token = self.peek()
        if token.kind == "rparen":
            raise self.fail("unbalanced ')': no '(' to close", token)
        if token.kind != "eof":
            raise self.fail(self._between_conditions(token), token)
        return node

    @staticmethod
    def _between_conditions(token: _Token) -> str:
        if token.text.lower() in ("and", "or"):
            return f"{token.text!r} is not a keyword: write {token.text.lower()!r} in lowercase"
        return f"expected 'and', 'or' or ',' between conditions, got {token.text!r}"

    def disjunction(self) -> _Node:
        children = [self.conjunction()]
        while self.peek().kind == "or":
            self.take()
            children.append(self.conjunction())
        return children[0] if len(children) == 1 else _Any(tuple(children))

    def conjunction(self) -> _Node:
        children = [self.unary()]
        while self.peek().kind in ("and", "comma"):
            self.take()
            children.append(self.unary())
        return children[0] if len(children) == 1 else _All(tuple(children))

    def unary(self) -> _Node:
        token = self.peek()
        if token.kind == "bang":
            self.take()
            target = self.peek()
            if target.kind == "field" and target.text in ("contains", "match"):
                return self.function(negate=True)
            raise self.fail("'!' can only negate contains() or match()", target)
        if token.kind == "lparen":
            return self.group()
        is_call = self.tokens[self.i + 1].kind == "lparen" if token.kind != "eof" else False
        if token.kind == "field" and token.text in ("contains", "match") and is_call:
            return self.function(negate=False)
        if token.kind == "field":
            return self.comparison()
        raise self.fail(self._expected_condition(token), token)

    @staticmethod
    def _expected_condition(token: _Token) -> str:
        shown = "the end" if token.kind == "eof" else repr(token.text)
        return f'expected a condition such as type = "track", got {shown}'

    def group(self) -> _Node:
        opening = self.take()
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise self.fail(f"parentheses nest deeper than {_MAX_NESTING} levels", opening)
        node = self.disjunction()
        closing = self.peek()
        if closing.kind != "rparen":
            if closing.kind == "eof":
                raise self.fail("unbalanced '(': add the closing ')'", opening)
            raise self.fail(self._between_conditions(closing), closing)
        self.take()
        self.depth -= 1
        return node

    def field(self) -> _Field:
        token = self.take()
        if token.kind != "field":
            raise self.fail(
                f"expected a field ({_FIELD_HELP}), got {token.text or 'the end'!r}", token
            )
        keys: PathKeys = token.value
        if keys[0] in _TOP_FIELDS and len(keys) == 1:
            return _Field(keys[0], ())
        if keys[0] in _PATH_FIELDS:
            if len(keys) == 1:
                raise self.fail(f"{keys[0]} needs a name after it, e.g. {keys[0]}.plan", token)
            return _Field(keys[0], keys[1:])
        raise self.fail(
            f"unknown field {token.text!r}; a subscription can test {_FIELD_HELP}", token
        )

    def comparison(self) -> _Node:
        field_token = self.peek()
        field = self.field()
        operator = self.take()
        if operator.kind != "op":
            raise self.fail(
                f"expected an operator (=, !=, <, <=, >, >=) after {field_token.text}, got "
                f"{operator.text or 'the end'!r}",
                operator,
            )
        value = self.take()
        if value.kind not in ("string", "number", "true", "false", "null"):
            raise self.fail(
                f"expected a value (a quoted string, a number, true, false or null) after "
                f"{operator.text}, got {value.text or 'the end'!r}",
                value,
            )
        if operator.text in ("=", "!="):
            return self._equality(field, operator, value)
        return self._ordering(field, operator, value)

    def _equality(self, field: _Field, operator: _Token, value: _Token) -> _Node:
        if value.kind == "null":
            return _Compare(field, operator.text, None, "null")
        if value.kind in ("true", "false"):
            expected: Any = value.kind == "true"
        elif value.kind == "string":
            expected = value.value
        else:
            expected = value.value
        if field.root in _TOP_FIELDS and not isinstance(expected, str):
            expected = value.text
        literal = _quote(expected) if isinstance(expected, str) else value.text
        return _Compare(field, operator.text, expected, literal)

    def _ordering(self, field: _Field, operator: _Token, value: _Token) -> _Node:
        if field.root in _TOP_FIELDS:
            raise self.fail(
                f"{operator.text} compares numbers; {field.root} is text, use = or !=", operator
            )
        number: Any = value.value
        if value.kind == "string":
            try:
                number = float(value.value)
            except ValueError:
                number = None
            if number is None or not math.isfinite(number):
                raise self.fail(f"{operator.text} needs a number, got {value.text}", value)
        elif value.kind != "number":
            raise self.fail(f"{operator.text} needs a number, got {value.text}", value)
        return _Compare(
            field, operator.text, number, value.text if value.kind == "number" else str(number)
        )

    def function(self, *, negate: bool) -> _Node:
        name_token = self.take()
        name = name_token.text
        if self.take().kind != "lparen":
            raise self.fail(f"expected '(' after {name}", self.tokens[self.i - 1])
        field = self.field()
        comma = self.take()
        if comma.kind != "comma":
            raise self.fail(
                f'{name}() takes a field and a string: {name}(properties.plan, "pro")', comma
            )
        argument = self.take()
        if argument.kind != "string":
            raise self.fail(f"the second argument of {name}() must be a quoted string", argument)
        closing = self.take()
        if closing.kind != "rparen":
            raise self.fail(f"expected ')' to close {name}(", closing)
        glob = _glob(argument.value) if name == "match" else None
        return _Function(name, field, argument.value, negate, glob)


# ---------------------------------------------------------------------------------------------
# Public API


class SubscriptionFilter:
    """A parsed subscription: a reusable, immutable predicate over event JSON.

    Build it with :func:`parse_subscription`. Instances compare and hash by their source text and
    pickle by it.

    Attributes:
        source: The subscription text as written.
    """

    __slots__ = ("_condition", "source")

    def __init__(self, source: str, condition: _Node) -> None:
        self.source = source
        self._condition = condition

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the event JSON (``SegmentEvent.raw``) satisfies the subscription.

        Never raises; a value that is not an object matches nothing.
        """
        if not isinstance(event, Mapping):
            return False
        return self._condition.matches(event)

    @property
    def canonical(self) -> str:
        """The condition with explicit parentheses and double quotes, e.g. ``a or (b and c)``."""
        return self._condition.render()

    def __repr__(self) -> str:
        return f"SubscriptionFilter({self.source!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SubscriptionFilter):
            return NotImplemented
        return self.source == other.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __reduce__(self) -> tuple[Any, ...]:
        return (parse_subscription, (self.source,))


def parse_subscription(text: str) -> SubscriptionFilter:
    """Parse a subscription such as ``type = "track" and event = "Order Completed"``.

    Raises:
        SubscriptionSyntaxError: the text is not a valid subscription; ``position`` is where the
            problem is and the message shows it with a caret.
    """
    if not isinstance(text, str):
        raise SubscriptionSyntaxError(
            f"a subscription must be a string, got {type(text).__name__}", text="", position=0
        )
    return SubscriptionFilter(text, _Parser(text).parse())
