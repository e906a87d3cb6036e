"""Subscription (FQL) parsing and matching: precedence, operators, errors, robustness."""

from __future__ import annotations

import contextlib
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_adapter.errors import SubscriptionSyntaxError
from segment_adapter.subscriptions import SubscriptionFilter, parse_subscription

TRACK: dict[str, Any] = {
    "type": "track",
    "event": "Transaction Created",
    "userId": "123",
    "properties": {
        "total": 30,
        "ratio": 2.5,
        "text30": "30",
        "coupon": None,
        "vip": True,
        "plan": "pro-annual",
        "items": [{"sku": "A-1"}],
        "spaced key": "yes",
    },
    "context": {
        "traits": {"email": "peter@example.com", "tier": "gold"},
        "page": {"url": "https://x.test/checkout"},
    },
}
IDENTIFY: dict[str, Any] = {
    "type": "identify",
    "userId": "u-1",
    "traits": {"email": "top@example.com", "tier": None},
}
PAGE: dict[str, Any] = {"type": "page", "anonymousId": "a-1", "name": "Home"}


@pytest.mark.parametrize(
    ("text", "event", "expected"),
    [
        # The hosted destination's defaults.
        ('type = "identify"', IDENTIFY, True),
        ('type = "identify"', TRACK, False),
        ('type = "track", event = "Transaction Created"', TRACK, True),
        ('type = "track", event = "Transaction Created"', {**TRACK, "event": "Other"}, False),
        ('type = "track", event = "Transaction Created"', IDENTIFY, False),
        # Precedence: and binds tighter than or.
        ('type = "track" or type = "identify" and event = "Nope"', TRACK, True),
        ('type = "identify" and event = "Nope" or type = "track"', TRACK, True),
        ('(type = "track" or type = "identify") and event = "Nope"', TRACK, False),
        (
            'type = "track" and (event = "Product Added" or event = "Transaction Created")',
            TRACK,
            True,
        ),
        ('type = "page", name = "Home" or type = "track", event = "X"', PAGE, True),
        # Strings.
        ('event != "Other"', TRACK, True),
        ('event != "Transaction Created"', TRACK, False),
        ('properties.text30 = "30"', TRACK, True),
        ('properties.total = "30"', TRACK, False),  # a number is not the string "30"
        ("event = 'Transaction Created'", TRACK, True),
        ('name = "Home"', PAGE, True),
        # Numbers.
        ("properties.total = 30", TRACK, True),
        ("properties.total = 30.0", TRACK, True),
        ("properties.text30 = 30", TRACK, False),  # a string is not the number 30
        ("properties.total != 31", TRACK, True),
        ("properties.total > 10", TRACK, True),
        ("properties.total >= 30", TRACK, True),
        ("properties.total < 30", TRACK, False),
        ("properties.total <= 30", TRACK, True),
        ("properties.ratio > 2.49", TRACK, True),
        ("properties.total > -5", TRACK, True),
        ('properties.total > "10"', TRACK, True),  # a numeric string literal is read as a number
        ("properties.text30 > 10", TRACK, False),  # comparisons need a number in the event
        ("properties.vip > 0", TRACK, False),  # true is not a number
        ("properties.missing < 100", TRACK, False),
        # Booleans.
        ("properties.vip = true", TRACK, True),
        ("properties.vip = false", TRACK, False),
        ("properties.vip != true", TRACK, False),
        ("properties.total = true", TRACK, False),
        # Null.
        ("properties.coupon = null", TRACK, True),
        ("properties.missing = null", TRACK, True),
        ("properties.total = null", TRACK, False),
        ("properties.coupon != null", TRACK, False),
        ("properties.total != null", TRACK, True),
        ("userId != null", TRACK, True),
        ("userId = null", PAGE, True),
        ("event = null", IDENTIFY, True),
        # Top-level text fields compare numbers as written.
        ("userId = 123", TRACK, True),
        ('userId = "123"', TRACK, True),
        # contains() and match().
        ('contains(properties.plan, "annual")', TRACK, True),
        ('contains(event, "Created")', TRACK, True),
        ('!contains(properties.plan, "monthly")', TRACK, True),
        ('!contains(properties.plan, "annual")', TRACK, False),
        ('!contains(properties.missing, "x")', TRACK, False),  # negations need a string too
        ('contains(properties.total, "3")', TRACK, False),
        ('match(event, "Transaction*")', TRACK, True),
        ('match(event, "*Created")', TRACK, True),
        ('match(event, "Trans*Cre?ted")', TRACK, True),
        ('match(event, "Transaction")', TRACK, False),  # a glob matches the whole value
        ('match(properties.plan, "pro-\\\\*")', TRACK, False),  # \\* is a literal star
        ('!match(event, "Order*")', TRACK, True),
        ('!match(properties.missing, "*")', TRACK, False),
        # Paths.
        ('context.page.url = "https://x.test/checkout"', TRACK, True),
        ('properties.items.0.sku = "A-1"', TRACK, True),
        ('properties.spaced\\ key = "yes"', TRACK, True),
        # traits.* also reads context.traits (track events carry traits there).
        ('traits.email = "peter@example.com"', TRACK, True),
        ('traits.email = "top@example.com"', IDENTIFY, True),
        ("traits.tier = null", IDENTIFY, True),  # a top-level null wins over context.traits
        ('traits.tier = "gold"', {**IDENTIFY, "context": {"traits": {"tier": "gold"}}}, False),
        ('traits.plan = "x"', {**IDENTIFY, "context": {"traits": {"plan": "x"}}}, True),
        ("traits.email != null", PAGE, False),
    ],
)
def test_matching(text: str, event: dict[str, Any], expected: bool) -> None:
    assert parse_subscription(text).matches(event) is expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (
            'type = "track", event = "Transaction Created"',
            'type = "track" and event = "Transaction Created"',
        ),
        ('type = "a" or type = "b" and event = "c"', 'type = "a" or (type = "b" and event = "c")'),
        ('type = "a" and event = "b" or type = "c"', '(type = "a" and event = "b") or type = "c"'),
        (
            '(type = "a" or type = "b") and event = "c"',
            '(type = "a" or type = "b") and event = "c"',
        ),
        ("((userId = 5))", 'userId = "5"'),
        ("event = 'x'", 'event = "x"'),
        ('!contains( traits.email ,"@x.com")', '!contains(traits.email, "@x.com")'),
        ('properties.spaced\\ key = "q\\"uote"', 'properties.spaced\\ key = "q\\"uote"'),
    ],
)
def test_canonical_form_makes_precedence_explicit(text: str, canonical: str) -> None:
    assert parse_subscription(text).canonical == canonical


def test_canonical_form_parses_to_the_same_condition() -> None:
    text = 'type = "a" or type = "b" and (event = "c" or !match(name, "x*")), properties.n >= 2'
    first = parse_subscription(text)
    assert parse_subscription(first.canonical).canonical == first.canonical


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('type = "track" and foo = "bar"', 19, "unknown field 'foo'"),
        ('anonymousId = "a"', 0, "unknown field 'anonymousId'"),
        ('properties = "x"', 0, "properties needs a name after it"),
        ('type = "track" AND event = "x"', 15, "'AND' is not a keyword"),
        ('type == "track"', 5, "'==' is not an operator"),
        ('type "track"', 5, "expected an operator"),
        ("type =", 6, "expected a value"),
        ("type = track", 7, "expected a value"),
        ('type = "track" and', 18, "expected a condition"),
        ('type = "track" event = "x"', 15, "expected 'and', 'or' or ','"),
        ('(type = "track"', 0, "unbalanced '('"),
        ('type = "track")', 14, "unbalanced ')'"),
        ("", 0, "the subscription is empty"),
        ("   ", 3, "the subscription is empty"),
        ('type = "track', 7, "unterminated string"),
        ("properties.total > 1.", 19, "malformed number"),
        ("properties.total > 5x", 19, "malformed number"),
        ('properties.total > "abc"', 19, "> needs a number"),
        ("properties.total > true", 19, "> needs a number"),
        ("event > 5", 6, "event is text"),
        ('!(type = "x")', 1, "'!' can only negate"),
        ('contains(properties.plan "x")', 25, "takes a field and a string"),
        ("contains(properties.plan, 5)", 26, "must be a quoted string"),
        ('contains(nope, "x")', 9, "unknown field 'nope'"),
        ('contains(event, "x"', 19, "expected ')'"),
        ('type = "x" # comment', 11, "unexpected character '#'"),
        ("properties..x = 1", 11, "empty name"),
        ("properties.x. = 1", 13, "cannot end with '.'"),
        ("(" * 40 + 'type = "x"' + ")" * 40, 32, "nest deeper than 32"),
    ],
)
def test_syntax_errors_carry_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(SubscriptionSyntaxError) as caught:
        parse_subscription(text)
    assert caught.value.position == position
    assert fragment in caught.value.reason
    assert caught.value.text == text
    caret_line = str(caught.value).splitlines()[-1]
    assert caret_line == " " * (4 + position - text.rfind("\n", 0, position) - 1) + "^"


def test_a_subscription_is_a_reusable_value() -> None:
    text = 'type = "track", event = "Transaction Created"'
    subscription = parse_subscription(text)
    assert subscription.source == text
    expected = 'SubscriptionFilter(\'type = "track", event = "Transaction Created"\')'
    assert repr(subscription) == expected
    assert subscription == parse_subscription(text)
    assert hash(subscription) == hash(parse_subscription(text))
    assert subscription != parse_subscription('type = "track"')
    clone = pickle.loads(pickle.dumps(subscription))
    assert isinstance(clone, SubscriptionFilter)
    assert clone == subscription
    assert clone.matches(TRACK)


@pytest.mark.parametrize("event", [None, [], "track", 5])
def test_non_objects_match_nothing(event: Any) -> None:
    assert parse_subscription("userId = null").matches(event) is False


def test_a_subscription_must_be_text() -> None:
    with pytest.raises(SubscriptionSyntaxError, match="must be a string"):
        parse_subscription(None)  # type: ignore[arg-type]


# --- Robustness (hypothesis) -------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
events = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["track", "identify"]) | json_values,
        "event": json_values,
        "userId": json_values,
        "properties": json_values,
        "traits": json_values,
        "context": json_values | st.fixed_dictionaries({"traits": json_values}),
    },
)
tokens = st.sampled_from(
    [
        "type",
        "event",
        "name",
        "userId",
        "properties.a",
        "traits.b",
        "context.c.d",
        "foo",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "!",
        "and",
        "or",
        ",",
        "(",
        ")",
        "null",
        "true",
        "false",
        '"x"',
        "'y'",
        "5",
        "-2.5",
        "contains",
        "match",
        '"a*"',
        "\\",
        '"',
        ".",
    ]
)


fields = st.sampled_from(
    ["type", "event", "name", "userId", "properties.a", "traits.b", "context.c.d"]
)
conditions = st.one_of(
    st.builds(
        "{} {} {}".format,
        fields,
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        st.sampled_from(['"x"', "'y'", "5", "-2.5", "null", "true", "false", '"7"']),
    ),
    st.builds(
        '{}{}({}, "{}")'.format,
        st.sampled_from(["", "!"]),
        st.sampled_from(["contains", "match"]),
        fields,
        st.sampled_from(["x", "x*", "*x", "?", ""]),
    ),
)
expressions = st.recursive(
    conditions,
    lambda inner: (
        st.builds("{} {} {}".format, inner, st.sampled_from(["and", "or", ","]), inner)
        | inner.map("({})".format)
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=40) | st.lists(tokens, max_size=12).map(" ".join) | expressions,
    event=events,
)
def test_parsing_arbitrary_text_raises_only_syntax_errors(text: str, event: dict[str, Any]) -> None:
    with contextlib.suppress(SubscriptionSyntaxError):
        subscription = parse_subscription(text)
        assert isinstance(subscription.matches(event), bool)
        assert parse_subscription(subscription.canonical).canonical == subscription.canonical
