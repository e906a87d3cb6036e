"""Hostile input to the pure layer: arbitrary JSON never raises anything but documented errors.

The unit tests (tests/unit/adapter) already fuzz the parsers with well-behaved JSON. These
generators are nastier: huge integers, NaN/inf/-0.0, odd unicode (lone surrogates, BOM, RTL
marks, characters whose case mapping changes length), keys that are not strings (and what they
become after a JSON round trip), and nesting thousands of levels deep.
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segment_adapter.errors import EventValidationError, MappingError, SubscriptionSyntaxError
from segment_adapter.events import parse_event, parse_events, parse_json
from segment_adapter.mapping import CompiledMapping, evaluate, validate_mapping
from segment_adapter.subscriptions import parse_subscription

ODD_STRINGS = [
    "",
    "\ud800",
    "\udfff",
    "\x00",
    "\u202e",
    "\ufeff",
    "\u2028",
    "\x85",
    "İ",
    "ß",
    "ﬃ",
    "\U0001d518\U0001d52b\U0001d526",
    "e\u0301",
    "$.",
    "{{a}}",
    "@path",
    "@if",
    "__proto__",
    "constructor",
    "toString",
    "length",
    "1e999999",
    "-0",
    "NaN",
    "\\",
    '"',
    "a" * 5000,
]
HUGE_INTS = [10**400, -(2**1000), 2**63, -(2**63) - 1, 2**53 + 1]
ODD_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]

nasty_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(HUGE_INTS)
    | st.floats()
    | st.sampled_from(ODD_FLOATS)
    | st.text(max_size=6)
    | st.sampled_from(ODD_STRINGS)
)
keys = st.text(max_size=5) | st.sampled_from(ODD_STRINGS[:24])
nasty_json = st.recursive(
    nasty_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=24,
)
non_str_keys = st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
with_odd_keys = st.recursive(
    nasty_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(keys | non_str_keys, children, max_size=4)
    ),
    max_leaves=16,
)
event_fields = {
    "type": st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]) | nasty_json,
    "event": nasty_json,
    "userId": nasty_json,
    "anonymousId": nasty_json,
    "messageId": nasty_json,
    "timestamp": nasty_json | st.sampled_from(["2024-01-01T00:00:00Z", "9999-99-99", "1e999"]),
    "properties": nasty_json,
    "traits": nasty_json,
    "context": nasty_json | st.fixed_dictionaries({"traits": nasty_json}),
}
eventish = st.fixed_dictionaries({}, optional=event_fields)
payloads = (
    nasty_json
    | eventish
    | st.lists(eventish, max_size=4)
    | st.builds(lambda b, c: {"batch": b, "context": c}, st.lists(eventish, max_size=3), nasty_json)
)

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def nested(depth: int, kind: str = "list") -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def round_trip(value: Any) -> Any:
    """What a value becomes over the wire (non-str keys become strings; NaN stays NaN)."""
    return json.loads(json.dumps(value, default=str))


def _parse_only_documented(payload: Any) -> int:
    """Parse ``payload`` every way; return how many events came out valid."""
    valid = 0
    try:
        parse_event(payload)
        valid = 1
    except EventValidationError:
        pass
    try:
        items = parse_events(payload)
    except EventValidationError:
        return valid
    for item in items:
        assert (item.event is None) != (item.error is None)
        if item.event is not None:
            # what we would send on must be strict JSON (no NaN, no Infinity)
            json.dumps(item.event.raw, allow_nan=False)
    return valid


@EXAMPLES
@given(payload=payloads)
def test_event_parser_raises_only_event_validation_errors(payload: Any) -> None:
    _parse_only_documented(payload)


@EXAMPLES
@given(payload=with_odd_keys | st.dictionaries(non_str_keys, nasty_json, max_size=3))
def test_event_parser_survives_non_string_keys_before_and_after_a_round_trip(
    payload: Any,
) -> None:
    _parse_only_documented(payload)
    _parse_only_documented(round_trip(payload))


@EXAMPLES
@given(body=st.binary(max_size=200) | payloads.map(lambda p: json.dumps(p, default=str)))
def test_parse_json_of_any_body_raises_only_event_validation_errors(body: bytes | str) -> None:
    with contextlib.suppress(EventValidationError):
        parse_json(body)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"1e999999",
        b"-1e999999",
        b"9" * 100_000,
        b'{"userId":"u","type":"track","event":"e","properties":{"n":' + b"9" * 5000 + b"}}",
        b"NaN",
        b'{"userId": Infinity}',
        b"\xff\xfe\x00",
        b'{"userId":"\xc3\x28"}',
        b'"\\ud800"',
        b"",
        b"\x00",
    ],
    ids=lambda b: f"{b[:12]!r}..{len(b)}",
)
def test_parse_json_of_pathological_bodies_raises_only_event_validation_errors(
    body: bytes,
) -> None:
    try:
        items = parse_json(body)
    except EventValidationError as exc:
        message = str(exc)
    else:
        message = ""
    assert len(message) < 2_000, "error messages stay short, whatever the input"
    if message:
        return
    for item in items:
        if item.event is not None:
            json.dumps(item.event.raw, allow_nan=False)


@pytest.mark.parametrize("depth", [200, 1_000, 5_000])
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_deeply_nested_python_events_raise_only_documented_errors(depth: int, kind: str) -> None:
    event = {"type": "track", "event": "e", "userId": "u", "properties": {"deep": nested(depth)}}
    event["context"] = {"traits": nested(depth, kind)}
    _parse_only_documented(event)
    mapping = {
        "x": {"@path": "$.properties.deep"},
        "y": {"@json": {"mode": "encode", "value": {"@path": "$.context"}}},
    }
    with contextlib.suppress(MappingError):
        evaluate(mapping, event)
    subscription = parse_subscription('properties.deep = "leaf" or context.traits.a != null')
    assert isinstance(subscription.matches(event), bool)


# --- mapping evaluator ----------------------------------------------------------------------

paths = st.sampled_from(
    [
        "$.",
        "$.a",
        "$.properties.x",
        "$.traits",
        "$.a[0]",
        "$..a",
        "$['a']",
        "$.length",
        "$.__proto__",
    ]
) | st.text(max_size=10)
directive_names = st.sampled_from(
    [
        "@path",
        "@if",
        "@template",
        "@literal",
        "@arrayPath",
        "@case",
        "@replace",
        "@json",
        "@flatten",
        "@merge",
        "@transform",
        "@excludeWhenNull",
        "@liquid",
        "@unknown",
    ]
)
nasty_mappings = st.recursive(
    nasty_json | st.builds(lambda p: {"@path": p}, paths),
    lambda children: (
        st.builds(lambda name, arg: {name: arg}, directive_names, children | nasty_json)
        | st.dictionaries(keys, children, max_size=4)
        | st.lists(children, max_size=3)
    ),
    max_leaves=14,
)


@EXAMPLES
@given(mapping=nasty_mappings, event=eventish | nasty_json)
def test_mapping_evaluator_raises_only_mapping_errors(mapping: Any, event: Any) -> None:
    try:
        validate_mapping(mapping)
        compiled = CompiledMapping(mapping)
    except MappingError:
        return
    if not isinstance(event, dict):
        event = {"properties": event}
    try:
        result = compiled.evaluate(event)
    except MappingError:
        return
    assert isinstance(result, dict)


# --- subscription parser ----------------------------------------------------------------------

fql_tokens = st.sampled_from(
    [
        "type",
        "event",
        "properties.a",
        "traits.b",
        "context.c",
        "userId",
        "=",
        "!=",
        "<",
        ">=",
        "and",
        "or",
        "(",
        ")",
        ",",
        "null",
        '"x"',
        "1e999",
        "-0",
        str(10**60),
        "contains(",
        "match(",
        '"\ud800"',
        '"\\u0000"',
        '"' + "*" * 50 + '"',
    ]
)


@EXAMPLES
@given(
    text=st.text(max_size=60)
    | st.lists(fql_tokens, max_size=16).map(" ".join)
    | st.integers(1, 3000).map(lambda n: "(" * n + 'type = "track"' + ")" * n),
    event=eventish,
)
def test_subscription_parser_raises_only_syntax_errors(text: str, event: dict[str, Any]) -> None:
    try:
        subscription = parse_subscription(text)
    except SubscriptionSyntaxError:
        return
    assert isinstance(subscription.matches(event), bool)


async def test_sdk_refuses_a_lone_surrogate_with_a_typed_error_before_sending() -> None:
    """Text that cannot be UTF-8 encoded is a ValidationError, not a raw UnicodeEncodeError."""
    from qualtrics_sdk import ValidationError
    from qualtrics_sdk.testing import FakeQualtrics

    async with FakeQualtrics() as fake, fake.client() as client:
        with pytest.raises(ValidationError, match="surrogate"):
            await client.contacts.create(fake.default_directory_id, ext_ref="\ud800")
        posted = fake.requests(method="POST")
    assert posted == []
