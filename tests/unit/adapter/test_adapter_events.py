"""Parsing Segment events: Spec examples, analytics-python payloads, batches, errors."""

from __future__ import annotations

import contextlib
import json
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_adapter.errors import (
    AdapterError,
    ConfigError,
    EventValidationError,
    MappingError,
    SubscriptionSyntaxError,
)
from segment_adapter.events import (
    AliasEvent,
    GroupEvent,
    IdentifyEvent,
    PageEvent,
    ScreenEvent,
    TrackEvent,
    parse_event,
    parse_events,
    parse_json,
    parse_timestamp,
    traits_of,
)

UTC = timezone.utc

# segment.md §1.3, as Segment delivers it.
SPEC_IDENTIFY: dict[str, Any] = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {"ip": "8.8.8.8", "userAgent": "Mozilla/5.0 ..."},
    "integrations": {"All": False, "Mixpanel": True, "Salesforce": True},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "traits": {
        "name": "Peter Gibbons",
        "email": "peter@example.com",
        "plan": "premium",
        "logins": 5,
        "address": {
            "street": "6th St",
            "city": "San Francisco",
            "state": "CA",
            "postalCode": "94103",
            "country": "USA",
        },
    },
    "type": "identify",
    "userId": "97980cfea0067",
    "version": "1.1",
}

# segment.md §1.4.
SPEC_TRACK: dict[str, Any] = {
    "anonymousId": "23adfd82-aa0f-45a7-a756-24f2a7a4c895",
    "context": {
        "library": {"name": "analytics.js", "version": "2.11.1"},
        "page": {
            "path": "/academy/",
            "referrer": "",
            "search": "",
            "title": "Analytics Academy",
            "url": "https://segment.com/academy/",
        },
        "userAgent": "Mozilla/5.0 ...",
        "ip": "108.0.78.21",
    },
    "event": "Course Clicked",
    "integrations": {},
    "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
    "properties": {"title": "Intro to Analytics"},
    "receivedAt": "2015-12-12T19:11:01.266Z",
    "sentAt": "2015-12-12T19:11:01.169Z",
    "timestamp": "2015-12-12T19:11:01.249Z",
    "type": "track",
    "userId": "AiUGstSDIg",
    "originalTimestamp": "2015-12-12T19:11:01.152Z",
}

# What analytics-python's client.track() puts on the wire (segment.md §1.7): explicit nulls,
# isoformat(timespec="milliseconds") timestamps with +00:00, ids passed through stringify_id.
ANALYTICS_PYTHON_TRACK: dict[str, Any] = {
    "integrations": {},
    "anonymousId": None,
    "properties": {"plan": "pro", "amount": 9.99},
    "timestamp": "2024-05-01T12:00:00.123+00:00",
    "context": {"library": {"name": "analytics-python", "version": "2.3.4"}},
    "userId": 42,
    "type": "track",
    "event": "Transaction Created",
    "messageId": "6f1c1a36-3b8e-4a4e-9d44-3c55d3c1a0a1",
}


def test_spec_identify_example() -> None:
    event = parse_event(SPEC_IDENTIFY)
    assert isinstance(event, IdentifyEvent)
    assert event.type == "identify"
    assert event.user_id == "97980cfea0067"
    assert event.anonymous_id == "507f191e810c19729de860ea"
    assert event.message_id == "022bb90c-bbac-11e4-8dfc-aa07a5b093db"
    assert event.timestamp == datetime(2015, 2, 23, 22, 28, 55, 111000, tzinfo=UTC)
    assert event.received_at == datetime(2015, 2, 23, 22, 28, 55, 387000, tzinfo=UTC)
    assert event.traits["address"]["city"] == "San Francisco"
    assert event.integrations == {"All": False, "Mixpanel": True, "Salesforce": True}
    assert event.raw == SPEC_IDENTIFY  # unknown keys (channel, version) kept, strings as sent


def test_spec_track_example() -> None:
    event = parse_event(SPEC_TRACK)
    assert isinstance(event, TrackEvent)
    assert (event.event, event.properties) == ("Course Clicked", {"title": "Intro to Analytics"})
    assert event.original_timestamp == datetime(2015, 12, 12, 19, 11, 1, 152000, tzinfo=UTC)
    assert event.context["page"]["title"] == "Analytics Academy"
    assert event.raw == SPEC_TRACK


def test_analytics_python_payload_numeric_id_and_explicit_nulls() -> None:
    event = parse_event(ANALYTICS_PYTHON_TRACK)
    assert isinstance(event, TrackEvent)
    assert event.user_id == "42"
    assert event.raw["userId"] == "42"  # what mappings and subscriptions see
    assert event.anonymous_id is None
    assert event.raw["anonymousId"] is None  # explicit null kept
    assert event.timestamp == datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123, "123"),
        (0, "0"),
        (1.0, "1"),
        (1.5, "1.5"),
        (12345678901234567890, "12345678901234567890"),
    ],
)
def test_numeric_ids_become_strings(value: Any, expected: str) -> None:
    event = parse_event(
        {"type": "alias", "userId": value, "previousId": value, "anonymousId": value}
    )
    assert isinstance(event, AliasEvent)
    assert event.user_id == event.anonymous_id == event.previous_id == expected
    assert event.raw["previousId"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-02-23T22:28:55.111Z", datetime(2015, 2, 23, 22, 28, 55, 111000, tzinfo=UTC)),
        ("2015-02-23T22:28:55.111+00:00", datetime(2015, 2, 23, 22, 28, 55, 111000, tzinfo=UTC)),
        ("2015-02-23T22:28:55+0000", datetime(2015, 2, 23, 22, 28, 55, tzinfo=UTC)),
        ("2015-02-23T23:28:55+01:00", datetime(2015, 2, 23, 22, 28, 55, tzinfo=UTC)),
        ("2015-02-23T17:28:55-05", datetime(2015, 2, 23, 22, 28, 55, tzinfo=UTC)),
        ("2015-02-23T22:28:55", datetime(2015, 2, 23, 22, 28, 55, tzinfo=UTC)),
        ("2015-02-23 22:28:55.123456789Z", datetime(2015, 2, 23, 22, 28, 55, 123456, tzinfo=UTC)),
        ("2015-02-23T22:28Z", datetime(2015, 2, 23, 22, 28, tzinfo=UTC)),
        ("2015-02-23", datetime(2015, 2, 23, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() is not None
    assert parse_event({"type": "identify", "userId": "u", "sentAt": text}).sent_at == expected


def test_timestamp_keeps_its_offset() -> None:
    assert parse_timestamp("2015-02-23T23:28:55+01:00").utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("timestamp", "yesterday", "'yesterday' is not an ISO-8601 date-time"),
        ("timestamp", "2015-02-30T00:00:00Z", "2015-02-30"),
        ("sentAt", "2015-02-23T25:00:00Z", "sentAt"),
        ("receivedAt", "2015-02-23T22:28:55+24:00", "impossible UTC offset"),
        ("originalTimestamp", 1424730535111, "must be an ISO-8601 date-time string"),
        ("timestamp", "", "is not an ISO-8601 date-time"),
    ],
)
def test_bad_timestamps_name_the_field(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_event({"type": "identify", "userId": "u", key: value})
    assert caught.value.field == key
    assert fragment in str(caught.value)
    assert "2015-02-23T22:28:55.111Z" in str(caught.value)  # the message shows the fix


def test_other_call_types() -> None:
    page = parse_event(
        {
            "type": "page",
            "userId": "u",
            "name": "Home",
            "category": "Docs",
            "properties": {"path": "/"},
        }
    )
    screen = parse_event({"type": "screen", "anonymousId": "a", "name": None})
    group = parse_event({"type": "group", "userId": "u", "groupId": 77, "traits": {"plan": "b2b"}})
    assert isinstance(page, PageEvent)
    assert (page.name, page.category, page.properties) == ("Home", "Docs", {"path": "/"})
    assert isinstance(screen, ScreenEvent)
    assert screen.name is None
    assert isinstance(group, GroupEvent)
    assert (group.group_id, group.traits) == ("77", {"plan": "b2b"})


def test_missing_and_null_objects_become_empty() -> None:
    event = parse_event(
        {"type": "track", "userId": "u", "event": "E", "context": None, "properties": None}
    )
    assert isinstance(event, TrackEvent)
    assert (event.context, event.integrations, event.properties) == ({}, {}, {})
    assert event.raw["context"] is None


def test_message_id_may_be_missing() -> None:
    assert parse_event({"type": "identify", "userId": "u"}).message_id is None


def test_raw_is_a_copy() -> None:
    source = json.loads(json.dumps(SPEC_TRACK))
    event = parse_event(source)
    source["properties"]["title"] = "changed"
    assert event.raw["properties"]["title"] == "Intro to Analytics"


@pytest.mark.parametrize(
    ("event", "field", "fragment"),
    [
        ({"userId": "u"}, "type", "type is missing"),
        ({"type": "delete", "userId": "u"}, "type", "'delete' is not supported"),
        ({"type": "Track", "userId": "u", "event": "E"}, "type", "expected one of identify, track"),
        ({"type": 5, "userId": "u"}, "type", "a number is not supported"),
        ({"type": "identify"}, "userId", "userId or anonymousId is required"),
        (
            {"type": "identify", "userId": "", "anonymousId": None},
            "userId",
            "userId or anonymousId is required",
        ),
        ({"type": "identify", "userId": True}, "userId", "got a boolean"),
        ({"type": "identify", "anonymousId": {"id": 1}}, "anonymousId", "got an object"),
        ({"type": "identify", "userId": "u", "messageId": 5}, "messageId", "must be a string"),
        ({"type": "track", "userId": "u"}, "event", "event is required for a track call"),
        ({"type": "track", "userId": "u", "event": ""}, "event", "got an empty string"),
        ({"type": "track", "userId": "u", "event": 5}, "event", "got a number"),
        (
            {"type": "track", "userId": "u", "event": "E", "properties": "x"},
            "properties",
            "must be an object",
        ),
        ({"type": "identify", "userId": "u", "traits": [1]}, "traits", "must be an object"),
        ({"type": "identify", "userId": "u", "context": []}, "context", "must be an object"),
        (
            {"type": "identify", "userId": "u", "context": {"traits": "x"}},
            "context.traits",
            "must be an object",
        ),
        (
            {"type": "identify", "userId": "u", "integrations": "all"},
            "integrations",
            "must be an object",
        ),
        ({"type": "page", "userId": "u", "name": 5}, "name", "must be a string"),
        (
            {"type": "identify", "userId": "u", "traits": {"score": float("nan")}},
            "traits.score",
            "JSON cannot carry",
        ),
        (
            {"type": "identify", "userId": "u", "traits": {"at": datetime(2020, 1, 1)}},
            "traits.at",
            "not a JSON value",
        ),
        (
            {"type": "identify", "userId": "u", "traits": {"tags": [1, {2}]}},
            "traits.tags[1]",
            "not a JSON value",
        ),
        ({"type": "identify", "userId": "u", "traits": {1: "x"}}, "traits", "non-string key"),
    ],
)
def test_invalid_events_name_the_field(event: dict[Any, Any], field: str, fragment: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_event(event)
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_an_event_must_be_an_object() -> None:
    with pytest.raises(EventValidationError, match="must be a JSON object, got an array") as caught:
        parse_event([SPEC_TRACK])
    assert caught.value.field == ""


def test_deep_nesting_is_refused() -> None:
    deep: Any = 1
    for _ in range(100):
        deep = {"x": deep}
    with pytest.raises(EventValidationError, match="nests deeper than 64 levels") as caught:
        parse_event({"type": "identify", "userId": "u", "traits": deep})
    assert caught.value.field.startswith("traits.x.x.")


# --- Payloads ----------------------------------------------------------------------------------


def test_single_event_payload() -> None:
    (item,) = parse_events(SPEC_TRACK)
    assert item.ok
    assert (item.index, item.message_id) == (0, SPEC_TRACK["messageId"])
    assert isinstance(item.event, TrackEvent)


def test_array_payload_reports_invalid_items_by_index_and_parses_the_rest() -> None:
    items = parse_events(
        [SPEC_IDENTIFY, {"type": "track", "userId": "u", "messageId": "m-2"}, "junk", SPEC_TRACK]
    )
    assert [item.index for item in items] == [0, 1, 2, 3]
    assert [item.ok for item in items] == [True, False, False, True]
    assert items[1].error is not None
    assert items[1].error.field == "event"
    assert items[1].message_id == "m-2"  # known even though the event is invalid
    assert items[1].event is None
    assert items[2].error is not None
    assert "must be a JSON object, got a string" in str(items[2].error)
    assert isinstance(items[3].event, TrackEvent)


def test_batch_envelope_merges_context_and_integrations_into_each_item() -> None:
    envelope = {
        "batch": [
            {
                "type": "identify",
                "userId": "u1",
                "context": {"ip": "1.1.1.1", "library": {"version": "9"}},
            },
            {
                "type": "track",
                "userId": "u2",
                "event": "E",
                "integrations": {"Qualtrics": False},
                "context": None,
            },
            {"type": "track", "userId": "u3"},
        ],
        "context": {
            "ip": "0.0.0.0",
            "library": {"name": "analytics-python", "version": "2.3.4"},
            "locale": "en-US",
        },
        "integrations": {"All": True},
        "writeKey": "wk-secret",
        "sentAt": "2024-05-01T12:00:00.500+00:00",
    }
    items = parse_events(envelope)
    first, second, third = (item.event for item in items)
    assert first is not None
    assert second is not None
    assert first.context == {
        "ip": "1.1.1.1",
        "library": {"name": "analytics-python", "version": "9"},
        "locale": "en-US",
    }
    assert first.integrations == {"All": True}
    assert second.context == envelope["context"]  # a null context counts as absent
    assert second.integrations == {"All": True, "Qualtrics": False}
    assert third is None
    assert items[2].error is not None
    assert items[2].error.field == "event"
    assert "writeKey" not in first.raw
    assert "wk-secret" not in repr(items)
    assert envelope["context"]["library"]["version"] == "2.3.4"  # the envelope is not modified


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"batch": {"type": "track"}}, "batch", "batch must be an array"),
        ({"batch": [], "context": "x"}, "context", "batch's context must be an object"),
        (
            {"batch": [], "integrations": [1]},
            "integrations",
            "batch's integrations must be an object",
        ),
        ("track", "", "a payload must be an event object"),
        (None, "", "got null"),
    ],
)
def test_unusable_payloads_raise(payload: Any, field: str, fragment: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_events(payload)
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_parse_json_accepts_bytes_and_str() -> None:
    body = json.dumps({"batch": [SPEC_IDENTIFY, SPEC_TRACK]})
    for data in (body, body.encode("utf-8")):
        items = parse_json(data)
        assert [type(item.event) for item in items] == [IdentifyEvent, TrackEvent]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": "identify", "userId": "u", "traits": {"x": NaN}}', "NaN is not valid JSON"),
        (
            b'{"type": "identify", "userId": "u", "traits": {"x": Infinity}}',
            "Infinity is not valid JSON",
        ),
        (b'{"type": "identify", "userId": "u", "traits": {"x": 1e999}}', "out of range"),
        (b'{"userId": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
        (b"\xff\xfe\xfa", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_parse_json_refuses_bad_bodies(data: bytes | str, fragment: str) -> None:
    with pytest.raises(EventValidationError, match=fragment) as caught:
        parse_json(data)
    assert caught.value.field == ""


def test_parse_json_refuses_non_text() -> None:
    with pytest.raises(EventValidationError, match="must be bytes or str"):
        parse_json(123)  # type: ignore[arg-type]


def test_moderately_deep_json_is_reported_per_item() -> None:
    (item,) = parse_json(
        '{"type": "identify", "userId": "u", "traits": ' + "[" * 300 + "]" * 300 + "}"
    )
    assert item.error is not None
    assert "nests deeper than 64" in str(item.error)


# --- traits_of (D6) ----------------------------------------------------------------------------


def test_traits_of_identify_reads_traits() -> None:
    assert traits_of(parse_event(SPEC_IDENTIFY))["email"] == "peter@example.com"


def test_traits_of_track_reads_context_traits() -> None:
    event = parse_event({**SPEC_TRACK, "context": {"traits": {"email": "e@x", "phone": "1"}}})
    assert traits_of(event) == {"email": "e@x", "phone": "1"}


def test_traits_of_top_level_wins_per_key_even_when_null() -> None:
    raw = {
        "traits": {"email": "top@x", "phone": None},
        "context": {"traits": {"email": "ctx@x", "phone": "1", "lang": "fr"}},
    }
    assert traits_of(raw) == {"email": "top@x", "phone": None, "lang": "fr"}


def test_traits_of_ignores_non_objects_and_returns_a_copy() -> None:
    raw: dict[str, Any] = {"traits": "x", "context": {"traits": {"a": 1}}}
    traits = traits_of(raw)
    traits["a"] = 2
    assert raw["context"]["traits"] == {"a": 1}
    assert traits_of({"traits": None, "context": "x"}) == {}


# --- Errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        EventValidationError("userId or anonymousId is required", field="userId"),
        MappingError("unknown directive", path="/a/@nope"),
        SubscriptionSyntaxError("unknown field 'foo'", text='type = "x" and foo = 1', position=15),
        ConfigError("directoryId is required", subscription=2, field="directoryId"),
        ConfigError("bad settings"),
    ],
)
def test_errors_pickle_with_their_attributes(error: AdapterError) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert vars(clone) == vars(error)
    assert isinstance(clone, AdapterError)
    assert isinstance(clone, ValueError)


def test_subscription_syntax_error_shows_a_caret() -> None:
    error = SubscriptionSyntaxError(
        "unknown field 'foo'", text='type = "x" and foo = 1', position=15
    )
    assert (
        str(error)
        == "unknown field 'foo' (at column 16)\n    type = \"x\" and foo = 1\n                   ^"
    )


def test_subscription_syntax_error_on_a_later_line() -> None:
    error = SubscriptionSyntaxError("boom", text='type = "x"\nand foo = 1', position=15)
    assert str(error) == "boom (at line 2, column 5)\n    and foo = 1\n        ^"


# --- Robustness (hypothesis) -------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
event_keys = st.sampled_from(
    [
        "type",
        "userId",
        "anonymousId",
        "messageId",
        "event",
        "timestamp",
        "context",
        "traits",
        "properties",
        "integrations",
        "batch",
        "name",
        "groupId",
    ]
)
event_like = st.dictionaries(
    event_keys | st.text(max_size=5),
    json_values | st.sampled_from(["track", "identify", "page", "2015-02-23T22:28:55.111Z"]),
    max_size=8,
)


spec_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["identify", "track", "page", "screen", "group", "alias"]),
        "userId": st.text(min_size=1, max_size=5) | st.integers(),
    },
    optional={
        "event": st.text(max_size=5) | json_values,
        "messageId": st.text(max_size=5) | json_values,
        "timestamp": st.sampled_from(
            ["2015-02-23T22:28:55.111Z", "2015-02-23T22:28:55+01:00", "x"]
        ),
        "context": json_values | st.dictionaries(st.sampled_from(["traits", "ip"]), json_values),
        "traits": json_values,
        "properties": json_values,
        "name": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(payload=json_values | event_like | spec_like | st.lists(spec_like | event_like, max_size=4))
def test_parsing_arbitrary_json_raises_only_event_validation_errors(payload: Any) -> None:
    with contextlib.suppress(EventValidationError):
        parse_event(payload)
    try:
        items = parse_events(payload)
    except EventValidationError:
        return
    for index, item in enumerate(items):
        assert item.index == index
        assert (item.event is None) != (item.error is None)
        if item.event is not None:
            json.dumps(item.event.raw, allow_nan=False)
            assert isinstance(item.event.user_id or item.event.anonymous_id, str)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64) | st.text(max_size=64) | event_like.map(json.dumps))
def test_parse_json_of_arbitrary_bytes_raises_only_event_validation_errors(
    data: bytes | str,
) -> None:
    with contextlib.suppress(EventValidationError):
        parse_json(data)
