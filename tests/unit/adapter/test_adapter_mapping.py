"""Mapping-kit semantics: every directive, Segment's quirks, validation and robustness."""

from __future__ import annotations

import contextlib
import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_adapter.errors import MappingError
from segment_adapter.mapping import CompiledMapping, evaluate, validate_mapping

ABSENT = object()  # expected result: the field is removed

EVENT: dict[str, Any] = {
    "type": "track",
    "userId": "u-1",
    "anonymousId": "anon-1",
    "event": "Order Completed",
    "properties": {
        "total": 30,
        "ratio": 1.0,
        "zero": 0,
        "no": False,
        "empty": "",
        "nothing": None,
        "code": "AB-12-cd",
        "pointer": "$.userId",
        "tpl": "{{userId}}",
        "json": '{"a": [1, 2.0]}',
        "badjson": "{nope",
        "products": [{"productId": "123", "price": 0.5}, {"productId": "456", "price": 0.99}],
        "single": {"productId": "789", "price": 1.5},
        "nested": {"a": {"b": 1}, "c": [1, {"d": 2}]},
        "withNulls": {"a": None, "b": {"c": None, "d": 1}, "e": [None]},
    },
    "context": {"traits": {"email": "peter@example.com"}, "page": {"url": "https://x.test/a"}},
    "integrations": {"Actions Amplitude": {"session_id": "s-1"}},
}


def field(mapping: Any, event: dict[str, Any] | None = None) -> Any:
    """Evaluate ``{"out": mapping}`` and return what ``out`` became (ABSENT when removed)."""
    result = CompiledMapping({"out": mapping}).evaluate(EVENT if event is None else event)
    return result.get("out", ABSENT)


def check(mapping: Any, expected: Any) -> None:
    got = field(mapping)
    if expected is ABSENT:
        assert got is ABSENT
    else:
        assert got == expected
        assert type(got) is type(expected)


def cases(*rows: tuple[str, Any, Any]) -> Any:
    return pytest.mark.parametrize(
        ("mapping", "expected"), [r[1:] for r in rows], ids=[r[0] for r in rows]
    )


# --- @path -------------------------------------------------------------------------------------


@cases(
    ("top-level", {"@path": "$.userId"}, "u-1"),
    ("nested", {"@path": "$.properties.total"}, 30),
    ("without $.", {"@path": "properties.total"}, 30),
    ("bracket index", {"@path": "$.properties.products[1].productId"}, "456"),
    ("dotted index", {"@path": "$.properties.products.0.price"}, 0.5),
    ("quoted bracket key", {"@path": "$.properties['code']"}, "AB-12-cd"),
    ("key with spaces", {"@path": "$.integrations.Actions Amplitude.session_id"}, "s-1"),
    ("array of keys", {"@path": ["integrations", "Actions Amplitude", "session_id"]}, "s-1"),
    ("missing key removes the field", {"@path": "$.properties.missing"}, ABSENT),
    ("missing parent removes the field", {"@path": "$.traits.email"}, ABSENT),
    ("falsy intermediate 0 is returned", {"@path": "$.properties.zero.x"}, 0),
    ("falsy intermediate null is returned", {"@path": "$.properties.nothing.x"}, None),
    ("falsy intermediate false is returned", {"@path": "$.properties.no.x"}, False),
    ("falsy intermediate '' is returned", {"@path": "$.properties.empty.length"}, ""),
    ("array length", {"@path": "$.properties.products.length"}, 2),
    ("string length", {"@path": "$.properties.code.length"}, 8),
    ("string index", {"@path": "$.properties.code.1"}, "B"),
    ("index out of range", {"@path": "$.properties.products[5]"}, ABSENT),
    ("non-canonical index", {"@path": "$.properties.products[01]"}, ABSENT),
    ("$. is stripped once only", {"@path": "$.$.userId"}, ABSENT),
    ("null value is kept", {"@path": "$.properties.nothing"}, None),
    ("nested directive gives the path", {"@path": {"@path": "$.properties.pointer"}}, "u-1"),
)
def test_path(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


@pytest.mark.parametrize("root", ["", "$.", "."])
def test_path_root_is_the_whole_event(root: str) -> None:
    assert field({"@path": root}) == EVENT


def test_path_result_is_a_copy_of_the_event_data() -> None:
    event = json.loads(json.dumps(EVENT))
    out = field({"@path": "$.properties.single"}, event)
    out["productId"] = "changed"
    assert event["properties"]["single"]["productId"] == "789"


# --- @if ---------------------------------------------------------------------------------------


def if_(condition: str, test: Any, **branches: Any) -> dict[str, Any]:
    return {"@if": {condition: test, **branches}}


@cases(
    ("exists: present", if_("exists", {"@path": "$.userId"}, then=1, **{"else": 2}), 1),
    (
        "exists: '' counts as present",
        if_("exists", {"@path": "$.properties.empty"}, then=1, **{"else": 2}),
        1,
    ),
    (
        "exists: 0 counts as present",
        if_("exists", {"@path": "$.properties.zero"}, then=1, **{"else": 2}),
        1,
    ),
    (
        "exists: null is absent",
        if_("exists", {"@path": "$.properties.nothing"}, then=1, **{"else": 2}),
        2,
    ),
    ("exists: missing", if_("exists", {"@path": "$.properties.missing"}, then=1, **{"else": 2}), 2),
    ("blank: value", if_("blank", {"@path": "$.properties.total"}, then=1, **{"else": 2}), 1),
    ("blank: 0 is blank", if_("blank", {"@path": "$.properties.zero"}, then=1, **{"else": 2}), 2),
    ("blank: false is blank", if_("blank", {"@path": "$.properties.no"}, then=1, **{"else": 2}), 2),
    ("blank: '' is blank", if_("blank", {"@path": "$.properties.empty"}, then=1, **{"else": 2}), 2),
    (
        "blank: null is blank",
        if_("blank", {"@path": "$.properties.nothing"}, then=1, **{"else": 2}),
        2,
    ),
    (
        "blank: missing is blank",
        if_("blank", {"@path": "$.properties.missing"}, then=1, **{"else": 2}),
        2,
    ),
    ("blank: [] is blank (JS [] == '')", if_("blank", {"@literal": []}, then=1, **{"else": 2}), 2),
    ("blank: {} is not blank", if_("blank", {"@literal": {}}, then=1, **{"else": 2}), 1),
    (
        "else false drops the field",
        if_("exists", {"@path": "$.x"}, then=1, **{"else": False}),
        ABSENT,
    ),
    ("else 0 drops the field", if_("exists", {"@path": "$.x"}, then=1, **{"else": 0}), ABSENT),
    ("else '' drops the field", if_("exists", {"@path": "$.x"}, then=1, **{"else": ""}), ABSENT),
    (
        "else null drops the field",
        if_("exists", {"@path": "$.x"}, then=1, **{"else": None}),
        ABSENT,
    ),
    ("no else drops the field", if_("exists", {"@path": "$.x"}, then=1), ABSENT),
    ("then null is kept", if_("exists", {"@path": "$.userId"}, then=None), None),
    ("no then drops the field", {"@if": {"exists": {"@path": "$.userId"}, "else": 2}}, ABSENT),
    (
        "branches are directives",
        if_("exists", {"@path": "$.x"}, then=1, **{"else": {"@path": "$.userId"}}),
        "u-1",
    ),
    (
        "exists wins over blank when both are given",
        {"@if": {"exists": {"@path": "$.x"}, "blank": {"@path": "$.userId"}, "then": 1, "else": 2}},
        2,
    ),
    (
        "hosted default: language falls back to EN",
        {
            "@if": {
                "exists": {"@path": "$.traits.language"},
                "then": {"@path": "$.traits.language"},
                "else": "EN",
            }
        },
        "EN",
    ),
)
def test_if(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @template ---------------------------------------------------------------------------------


@cases(
    ("basic", {"@template": "Hi {{userId}}!"}, "Hi u-1!"),
    ("nested path and whitespace", {"@template": "{{ properties.single.productId }}"}, "789"),
    (
        "no HTML escaping, double or triple",
        {"@template": "<{{properties.tpl}}|{{{properties.code}}}>"},
        "<{{userId}}|AB-12-cd>",
    ),
    (
        "triple braces are substituted first, then double",
        {"@template": "{{{properties.tpl}}}"},
        "u-1",
    ),
    ("missing becomes ''", {"@template": "[{{properties.missing.deep}}]"}, "[]"),
    ("null becomes ''", {"@template": "[{{properties.nothing}}]"}, "[]"),
    (
        "numbers as JavaScript writes them",
        {"@template": "{{properties.total}}/{{properties.ratio}}"},
        "30/1",
    ),
    ("booleans", {"@template": "{{properties.no}}"}, "false"),
    ("objects", {"@template": "{{properties.single}}"}, "[object Object]"),
    ("arrays join with commas", {"@template": "{{properties.nested.c}}"}, "1,[object Object]"),
    ("$. is not stripped in placeholders", {"@template": "[{{$.userId}}]"}, "[]"),
    ("no placeholder", {"@template": "plain"}, "plain"),
    ("template from a directive", {"@template": {"@path": "$.properties.tpl"}}, "u-1"),
)
def test_template(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @literal ----------------------------------------------------------------------------------


@cases(
    ("boolean", {"@literal": False}, False),
    ("string that looks like a template", {"@literal": "{{userId}}"}, "{{userId}}"),
    (
        "nested directives are resolved",
        {"@literal": {"a": {"@path": "$.userId"}, "b": {"@path": "$.x"}}},
        {"a": "u-1"},
    ),
    ("null", {"@literal": None}, None),
)
def test_literal(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @arrayPath --------------------------------------------------------------------------------

SHAPE = {"id": {"@path": "$.productId"}, "cost": {"@path": "$.price"}, "gone": {"@path": "$.nope"}}


@cases(
    (
        "no shape returns the array",
        {"@arrayPath": ["$.properties.products"]},
        EVENT["properties"]["products"],
    ),
    (
        "shape is resolved per item, relative to it",
        {"@arrayPath": ["$.properties.products", SHAPE]},
        [{"id": "123", "cost": 0.5}, {"id": "456", "cost": 0.99}],
    ),
    (
        "an object root becomes a one-item array",
        {"@arrayPath": ["$.properties.single", SHAPE]},
        [{"id": "789", "cost": 1.5}],
    ),
    (
        "a directive shape maps items to values",
        {"@arrayPath": ["$.properties.products", {"@path": "$.productId"}]},
        ["123", "456"],
    ),
    (
        "an empty shape returns the root",
        {"@arrayPath": ["$.properties.single", {}]},
        EVENT["properties"]["single"],
    ),
    ("a string root is returned as is", {"@arrayPath": ["$.properties.code", SHAPE]}, "AB-12-cd"),
    ("a missing root removes the field", {"@arrayPath": ["$.properties.missing", SHAPE]}, ABSENT),
    (
        "the path may be a directive giving the root itself",
        {
            "@arrayPath": [
                {
                    "@if": {
                        "exists": {"@path": "$.properties.products"},
                        "then": {"@path": "$.properties.products"},
                        "else": [],
                    }
                },
                {"@path": "$.price"},
            ]
        },
        [0.5, 0.99],
    ),
)
def test_array_path(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @case -------------------------------------------------------------------------------------


@cases(
    (
        "lower",
        {"@case": {"operator": "lower", "value": {"@path": "$.properties.code"}}},
        "ab-12-cd",
    ),
    (
        "upper",
        {"@case": {"operator": "upper", "value": {"@path": "$.properties.code"}}},
        "AB-12-CD",
    ),
    ("raw string", {"@case": {"operator": "lower", "value": "MiXeD"}}, "mixed"),
    (
        "non-strings unchanged",
        {"@case": {"operator": "lower", "value": {"@path": "$.properties.total"}}},
        30,
    ),
    (
        "null unchanged",
        {"@case": {"operator": "lower", "value": {"@path": "$.properties.nothing"}}},
        None,
    ),
    (
        "resolved '' stays ''",
        {"@case": {"operator": "upper", "value": {"@path": "$.properties.empty"}}},
        "",
    ),
    (
        "missing value removes the field",
        {"@case": {"operator": "upper", "value": {"@path": "$.x"}}},
        ABSENT,
    ),
    ("a falsy raw value gives nothing", {"@case": {"operator": "upper", "value": ""}}, ABSENT),
    ("no value gives nothing", {"@case": {"operator": "upper"}}, ABSENT),
)
def test_case(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @replace ----------------------------------------------------------------------------------


def replace(
    value: Any, pattern: str, replacement: str | None = None, **flags: Any
) -> dict[str, Any]:
    options: dict[str, Any] = {"value": value, "pattern": pattern, **flags}
    if replacement is not None:
        options["replacement"] = replacement
    return {"@replace": options}


CODE = {"@path": "$.properties.code"}


@cases(
    ("global by default", replace(CODE, "-", ""), "AB12cd"),
    ("first occurrence only", replace(CODE, "-", "", **{"global": False}), "AB12-cd"),
    ("case-sensitive by default", replace(CODE, "ab", "x"), "AB-12-cd"),
    ("ignorecase", replace(CODE, "ab", "x", ignorecase=True), "x-12-cd"),
    ("pattern is literal, not a regex", replace("a.b+c", ".", "_"), "a_b+c"),
    ("regex metacharacters escaped", replace("1+1=2", "+", " plus "), "1 plus 1=2"),
    ("missing replacement means ''", replace(CODE, "AB-"), "12-cd"),
    (
        "second pass with pattern2",
        {
            "@replace": {
                "value": CODE,
                "pattern": "-",
                "replacement": "_",
                "pattern2": "_1",
                "replacement2": "#",
            }
        },
        "AB#2_cd",
    ),
    ("JavaScript $& inserts the match", replace(CODE, "12", "<$&>"), "AB-<12>-cd"),
    ("JavaScript $$ inserts a dollar", replace(CODE, "-", "$$"), "AB$12$cd"),
    ("JavaScript $` and $' insert around the match", replace("abc", "b", "[$`$']"), "a[ac]c"),
    ("$1 stays literal (no groups)", replace(CODE, "-", "$1"), "AB$112$1cd"),
    ("numbers are stringified first", replace({"@path": "$.properties.total"}, "0", "5"), "35"),
    (
        "floats as JavaScript writes them",
        replace({"@path": "$.properties.ratio"}, "1", "one"),
        "one",
    ),
    ("booleans are stringified first", replace({"@path": "$.properties.no"}, "al", ""), "fse"),
    ("an object value gives ''", replace({"@path": "$.properties.single"}, "a", "b"), ""),
    ("a missing value gives '' (not nothing)", replace({"@path": "$.x"}, "a", "b"), ""),
    ("a falsy raw value gives nothing", replace("", "a", "b"), ABSENT),
    ("replace on ''", replace({"@path": "$.properties.empty"}, "_", "rrrrr"), ""),
)
def test_replace(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @json -------------------------------------------------------------------------------------


@cases(
    (
        "encode an object compactly",
        {"@json": {"mode": "encode", "value": {"@path": "$.properties.single"}}},
        '{"productId":"789","price":1.5}',
    ),
    (
        "encode numbers as JavaScript",
        {"@json": {"mode": "encode", "value": {"@path": "$.properties.ratio"}}},
        "1",
    ),
    ("encode a string", {"@json": {"mode": "encode", "value": "x\u00e9"}}, '"x\u00e9"'),
    (
        "encode skips undefined members",
        {"@json": {"mode": "encode", "value": {"a": {"@path": "$.x"}, "b": [{"@path": "$.x"}]}}},
        '{"b":[null]}',
    ),
    (
        "encode undefined gives nothing",
        {"@json": {"mode": "encode", "value": {"@path": "$.x"}}},
        ABSENT,
    ),
    (
        "decode",
        {"@json": {"mode": "decode", "value": {"@path": "$.properties.json"}}},
        {"a": [1, 2.0]},
    ),
    (
        "decode falls back to the string",
        {"@json": {"mode": "decode", "value": {"@path": "$.properties.badjson"}}},
        "{nope",
    ),
    ("decode refuses NaN like JSON.parse", {"@json": {"mode": "decode", "value": "NaN"}}, "NaN"),
    (
        "decode passes non-strings through",
        {"@json": {"mode": "decode", "value": {"@path": "$.properties.total"}}},
        30,
    ),
)
def test_json(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @flatten ----------------------------------------------------------------------------------

NESTED = {"@path": "$.properties.nested"}


@cases(
    (
        "objects and arrays",
        {"@flatten": {"value": NESTED, "separator": "."}},
        {"a.b": 1, "c.0": 1, "c.1.d": 2},
    ),
    (
        "custom separator",
        {"@flatten": {"value": NESTED, "separator": "__"}},
        {"a__b": 1, "c__0": 1, "c__1__d": 2},
    ),
    (
        "omitArrays keeps arrays",
        {"@flatten": {"value": NESTED, "separator": ".", "omitArrays": True}},
        {"a.b": 1, "c": [1, {"d": 2}]},
    ),
    (
        "a top-level array",
        {"@flatten": {"value": [{"a": 1}, 2], "separator": "."}},
        {"0.a": 1, "1": 2},
    ),
    ("a primitive gets the empty key", {"@flatten": {"value": "x", "separator": "."}}, {"": "x"}),
    (
        "empty objects vanish",
        {"@flatten": {"value": {"a": {}, "b": 1}, "separator": "."}},
        {"b": 1},
    ),
    ("a missing value gives {}", {"@flatten": {"value": {"@path": "$.x"}, "separator": "."}}, {}),
    (
        "separator from a directive",
        {"@flatten": {"value": {"a": {"b": 1}}, "separator": {"@literal": "/"}}},
        {"a/b": 1},
    ),
)
def test_flatten(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @merge ------------------------------------------------------------------------------------


@cases(
    (
        "right: later objects win",
        {"@merge": {"objects": [{"a": 1, "b": 1}, {"b": 2}], "direction": "right"}},
        {"a": 1, "b": 2},
    ),
    (
        "left: earlier objects win",
        {"@merge": {"objects": [{"a": 1, "b": 1}, {"b": 2}], "direction": "left"}},
        {"a": 1, "b": 1},
    ),
    (
        "objects may be directives",
        {
            "@merge": {
                "objects": [{"@path": "$.properties.single"}, {"price": 9}],
                "direction": "right",
            }
        },
        {"productId": "789", "price": 9},
    ),
    (
        "a missing value overrides an earlier one",
        {"@merge": {"objects": [{"a": 1}, {"a": {"@path": "$.x"}}], "direction": "right"}},
        {},
    ),
    (
        "non-objects add nothing",
        {
            "@merge": {
                "objects": [{"a": 1}, {"@path": "$.properties.total"}, {"@path": "$.x"}],
                "direction": "right",
            }
        },
        {"a": 1},
    ),
    (
        "direction from a directive",
        {"@merge": {"objects": [{"a": 1}, {"a": 2}], "direction": {"@literal": "left"}}},
        {"a": 1},
    ),
)
def test_merge(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- @transform, @excludeWhenNull --------------------------------------------------------------


def test_transform_applies_a_mapping_then_maps_its_result() -> None:
    mapping = {
        "@transform": {
            "apply": {"uid": {"@path": "$.userId"}, "gone": {"@path": "$.x"}},
            "mapping": {
                "id": {"@path": "$.uid"},
                "had_gone": {"@if": {"exists": {"@path": "$.gone"}, "then": True, "else": "no"}},
            },
        }
    }
    assert field(mapping) == {"id": "u-1", "had_gone": "no"}


@cases(
    ("null is removed", {"@excludeWhenNull": {"@path": "$.properties.nothing"}}, ABSENT),
    ("values pass", {"@excludeWhenNull": {"@path": "$.properties.total"}}, 30),
    (
        "null members removed recursively, arrays kept",
        {"@excludeWhenNull": {"@path": "$.properties.withNulls"}},
        {"b": {"d": 1}, "e": [None]},
    ),
)
def test_exclude_when_null(mapping: Any, expected: Any) -> None:
    check(mapping, expected)


# --- Whole mappings ----------------------------------------------------------------------------


def test_raw_values_pass_through_and_nested_directives_resolve() -> None:
    mapping = {
        "string": "s",
        "number": 1.5,
        "bool": False,
        "null": None,
        "object": {"a": {"b": {"@path": "$.userId"}}, "c": {"@path": "$.x"}},
        "array": [{"@path": "$.x"}, {"@path": "$.userId"}, 3],
        "withMetadata": {"@path": "$.event", "_metadata": {"label": "ignored"}},
    }
    assert CompiledMapping(mapping).evaluate(EVENT) == {
        "string": "s",
        "number": 1.5,
        "bool": False,
        "null": None,
        "object": {"a": {"b": "u-1"}},
        "array": [None, "u-1", 3],
        "withMetadata": "Order Completed",
    }


def test_root_directive_must_produce_an_object() -> None:
    assert CompiledMapping({"@path": "$.properties.single"}).evaluate(EVENT) == {
        "productId": "789",
        "price": 1.5,
    }
    assert CompiledMapping({"@path": "$.x"}).evaluate(EVENT) == {}
    with pytest.raises(MappingError, match="must produce an object"):
        CompiledMapping({"@path": "$.userId"}).evaluate(EVENT)


def test_root_directive_trick_moves_other_keys_into_its_mapping() -> None:
    mapping = {
        "__segment_internal_directive": {"@transform": {"apply": {"uid": {"@path": "$.userId"}}}},
        "id": {"@path": "$.uid"},
    }
    assert CompiledMapping(mapping).evaluate(EVENT) == {"id": "u-1"}


def test_hosted_add_contact_defaults_on_the_spec_identify_example() -> None:
    identify = {
        "anonymousId": "507f191e810c19729de860ea",
        "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
        "timestamp": "2015-02-23T22:28:55.111Z",
        "traits": {
            "name": "Peter Gibbons",
            "email": "peter@example.com",
            "firstName": "Peter",
            "phone": "555",
        },
        "type": "identify",
        "userId": "97980cfea0067",
    }
    defaults = {
        "extRef": {"@path": "$.userId"},
        "email": {
            "@if": {
                "exists": {"@path": "$.email"},
                "then": {"@path": "$.email"},
                "else": {"@path": "$.traits.email"},
            }
        },
        "phone": {"@path": "$.traits.phone"},
        "firstName": {"@path": "$.traits.firstName"},
        "lastName": {"@path": "$.traits.lastName"},
        "language": {
            "@if": {
                "exists": {"@path": "$.traits.language"},
                "then": {"@path": "$.traits.language"},
                "else": "EN",
            }
        },
        "unsubscribed": False,
    }
    assert CompiledMapping(defaults).evaluate(identify) == {
        "extRef": "97980cfea0067",
        "email": "peter@example.com",
        "phone": "555",
        "firstName": "Peter",
        "language": "EN",
        "unsubscribed": False,
    }


def test_compiled_mapping_is_independent_of_its_input_and_outputs() -> None:
    source = {"fixed": {"a": [1, 2]}, "uid": {"@path": "$.userId"}}
    compiled = CompiledMapping(source)
    source["fixed"]["a"].append(3)
    first = compiled.evaluate(EVENT)
    first["fixed"]["a"].append(4)
    assert compiled.evaluate(EVENT) == {"fixed": {"a": [1, 2]}, "uid": "u-1"}
    assert compiled.source == {"fixed": {"a": [1, 2]}, "uid": {"@path": "$.userId"}}


def test_compiled_mapping_pickles_and_compares_by_source() -> None:
    compiled = CompiledMapping({"uid": {"@path": "$.userId"}})
    clone = pickle.loads(pickle.dumps(compiled))
    assert clone == compiled
    assert clone.evaluate(EVENT) == {"uid": "u-1"}
    assert repr(compiled) == "CompiledMapping({'uid': {'@path': '$.userId'}})"


def test_evaluate_accepts_raw_or_compiled_mappings() -> None:
    mapping = {"uid": {"@path": "$.userId"}}
    assert evaluate(mapping, EVENT) == evaluate(CompiledMapping(mapping), EVENT) == {"uid": "u-1"}


# --- Validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "path", "fragment"),
    [
        ({"a": {"@path": 5}}, "/a/@path", "got number"),
        ({"a": {"@path": {}}}, "/a/@path", "got object"),
        ({"a": {"@path": ".."}}, "/a/@path", "names no key"),
        ({"a": {"@path": "$.x", "b": 1}}, "/a", "mixes the directive @path"),
        ({"a": {"@path": "x", "@template": "y"}}, "/a", "2 directives"),
        ({"a": {"@nope": 1}}, "/a/@nope", "unknown"),
        ({"a": {"@Bad": 1}}, "/a/@Bad", "invalid directive name"),
        ({"a": {"@liquid": "{{ x | upcase }}"}}, "/a/@liquid", "not supported"),
        (
            {"embeddedData": {"@if": {"exists": {"@pat": "$.x"}}}},
            "/embeddedData/@if/exists/@pat",
            "unknown",
        ),
        ({"a": {"@if": {"then": 1}}}, "/a/@if", '"exists" or a "blank"'),
        ({"a": {"@if": {"exists": "", "then": 1}}}, "/a/@if", '"exists" or a "blank"'),
        ({"a": {"@if": {"exists": {"@path": "$.x"}, "Then": 1}}}, "/a/@if/Then", "unknown option"),
        ({"a": {"@if": "x"}}, "/a/@if", "takes an object"),
        (
            {"a": {"@replace": {"value": "x", "pattern": "12345678901"}}},
            "/a/@replace/pattern",
            "at most 10",
        ),
        (
            {"a": {"@replace": {"value": "x", "pattern": ""}}},
            "/a/@replace/pattern",
            "must not be empty",
        ),
        (
            {"a": {"@replace": {"value": "x", "pattern": "a", "replacement": "12345678901"}}},
            "/a/@replace/replacement",
            "at most 10",
        ),
        (
            {"a": {"@replace": {"value": "x", "pattern": "a", "pattern2": "12345678901"}}},
            "/a/@replace/pattern2",
            "at most 10",
        ),
        (
            {"a": {"@replace": {"value": "x", "pattern": "a", "global": "yes"}}},
            "/a/@replace/global",
            "true or false",
        ),
        ({"a": {"@replace": {"pattern": "a"}}}, "/a/@replace", "'value'"),
        (
            {"a": {"@replace": {"value": 5, "pattern": "a"}}},
            "/a/@replace/value",
            "string or a directive",
        ),
        (
            {"a": {"@case": {"operator": "title", "value": "x"}}},
            "/a/@case/operator",
            '"lower" or "upper"',
        ),
        ({"a": {"@case": "lower"}}, "/a/@case", "takes an object"),
        ({"a": {"@json": {"mode": "encode"}}}, "/a/@json", "'value'"),
        (
            {"a": {"@json": {"mode": "pretty", "value": "x"}}},
            "/a/@json/mode",
            '"encode" or "decode"',
        ),
        ({"a": {"@json": {"mode": "encode", "value": ""}}}, "/a/@json/value", "must not be empty"),
        ({"a": {"@flatten": {"value": {}}}}, "/a/@flatten", "'separator'"),
        ({"a": {"@flatten": {"value": {}, "separator": ""}}}, "/a/@flatten/separator", "non-empty"),
        (
            {"a": {"@flatten": {"value": {}, "separator": ".", "omitArrays": "no"}}},
            "/a/@flatten/omitArrays",
            "true or false",
        ),
        (
            {"a": {"@merge": {"objects": [{}], "direction": "up"}}},
            "/a/@merge/direction",
            '"left" or "right"',
        ),
        ({"a": {"@merge": {"objects": [{}]}}}, "/a/@merge", "'direction'"),
        (
            {"a": {"@merge": {"objects": {}, "direction": "left"}}},
            "/a/@merge/objects",
            "must be an array",
        ),
        (
            {"a": {"@merge": {"objects": [1], "direction": "left"}}},
            "/a/@merge/objects/0",
            "objects or directives",
        ),
        (
            {"a": {"@transform": {"apply": "x", "mapping": {}}}},
            "/a/@transform/apply",
            "JSON object",
        ),
        (
            {"a": {"@transform": {"apply": {}, "mapping": ""}}},
            "/a/@transform/mapping",
            "must not be empty",
        ),
        ({"a": {"@arrayPath": "$.x"}}, "/a/@arrayPath", "takes an array"),
        ({"a": {"@arrayPath": []}}, "/a/@arrayPath", "takes an array"),
        ({"a": {"@arrayPath": [5]}}, "/a/@arrayPath/0", "string or a directive"),
        ({"a": {"@arrayPath": ["$.x", {"b": {"@nope": 1}}]}}, "/a/@arrayPath/1/b/@nope", "unknown"),
        ({"a": {"@template": 5}}, "/a/@template", "string or a directive"),
        ({"a": {"@template": "x {{..}}"}}, "/a/@template", "names no key"),
        ({"a/b~c": {"@nope": 1}}, "/a~1b~0c/@nope", "unknown"),
        ({"a": [1, {"@nope": 1}]}, "/a/1/@nope", "unknown"),
        ({"a": float("nan")}, "/a", "not a JSON number"),
        ({"a": {1, 2}}, "/a", "not a JSON value"),
        ({1: "x"}, "", "keys must be strings"),
        ([], "", "must be a JSON object"),
        ("x", "", "must be a JSON object"),
    ],
)
def test_validation_points_at_the_offending_key(mapping: Any, path: str, fragment: str) -> None:
    with pytest.raises(MappingError) as caught:
        validate_mapping(mapping)
    assert caught.value.path == path
    assert fragment in caught.value.reason
    assert str(caught.value).startswith(f"mapping {path or '(root)'}: ")


def test_validation_refuses_absurd_nesting() -> None:
    mapping: Any = "leaf"
    for _ in range(200):
        mapping = {"k": mapping}
    with pytest.raises(MappingError, match="nested deeper than 64"):
        validate_mapping(mapping)


# --- Errors at evaluation ----------------------------------------------------------------------


def test_a_nested_path_directive_must_give_a_string() -> None:
    compiled = CompiledMapping({"a": {"@path": {"@path": "$.properties.total"}}})
    with pytest.raises(MappingError) as caught:
        compiled.evaluate(EVENT)
    assert caught.value.path == "/a/@path"
    assert "expected the directive to give a string, got number" in caught.value.reason


def test_the_event_must_be_an_object() -> None:
    with pytest.raises(MappingError, match="must be a JSON object"):
        CompiledMapping({"a": 1}).evaluate([])  # type: ignore[arg-type]


def test_json_encode_of_a_non_json_value_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="cannot encode"):
        CompiledMapping({"a": {"@json": {"mode": "encode", "value": {"@path": "$.s"}}}}).evaluate(
            {"s": {1}}
        )


@pytest.mark.parametrize(
    "mapping",
    [
        {"a": {"@path": "$."}},
        {"a": {"@json": {"mode": "encode", "value": {"@path": "$."}}}},
        {"a": {"@flatten": {"value": {"@path": "$."}, "separator": "."}}},
        {"a": {"@template": "{{deep}}"}},
    ],
)
def test_absurdly_deep_events_fail_cleanly(mapping: Any) -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(MappingError, match="nests too deeply"):
        CompiledMapping(mapping).evaluate({"deep": deep})


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
paths = st.sampled_from(
    ["$.", "", "$.a", "$.a.b", "a[0]", "$.a.length", "..", "$.b[1].c", "$.$.a", "a['b']"]
) | st.text(max_size=10)


def directives(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    anything = children | json_values
    options = st.dictionaries(
        st.sampled_from(
            [
                "exists",
                "blank",
                "then",
                "else",
                "operator",
                "value",
                "pattern",
                "replacement",
                "global",
                "ignorecase",
                "pattern2",
                "mode",
                "separator",
                "omitArrays",
                "objects",
                "direction",
                "apply",
                "mapping",
            ]
        ),
        anything,
        max_size=5,
    )
    return st.one_of(
        st.builds(lambda p: {"@path": p}, paths | children),
        st.builds(lambda t: {"@template": t}, st.text(max_size=12) | st.just("{{a}}{{{b.c}}}")),
        st.builds(lambda v: {"@literal": v}, anything),
        st.builds(lambda v: {"@excludeWhenNull": v}, anything),
        st.builds(lambda p, s: {"@arrayPath": [p, s]}, paths, anything),
        st.builds(
            lambda c, t, e: {"@if": {"exists": c, "then": t, "else": e}},
            anything,
            anything,
            anything,
        ),
        st.builds(lambda c, t: {"@if": {"blank": c, "then": t}}, anything, anything),
        st.builds(
            lambda o, v: {"@case": {"operator": o, "value": v}},
            st.sampled_from(["lower", "upper"]),
            anything,
        ),
        st.builds(
            lambda v, p, r: {"@replace": {"value": v, "pattern": p, "replacement": r}},
            anything,
            st.text(min_size=1, max_size=3),
            st.text(max_size=3),
        ),
        st.builds(
            lambda m, v: {"@json": {"mode": m, "value": v}},
            st.sampled_from(["encode", "decode"]),
            anything,
        ),
        st.builds(
            lambda v, s, o: {"@flatten": {"value": v, "separator": s, "omitArrays": o}},
            anything,
            st.text(min_size=1, max_size=2),
            st.booleans(),
        ),
        st.builds(
            lambda objs, d: {"@merge": {"objects": objs, "direction": d}},
            st.lists(children, max_size=3),
            st.sampled_from(["left", "right"]),
        ),
        st.builds(
            lambda a, m: {"@transform": {"apply": a, "mapping": m}},
            st.dictionaries(st.text(max_size=3), anything, max_size=3),
            anything,
        ),
        options.map(lambda o: {"@if": o}),
        options.map(lambda o: {"@replace": o}),
    )


mappings = st.recursive(
    json_values,
    lambda children: (
        directives(children) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


def assert_plain_json(value: Any) -> None:
    """The result holds only JSON values (no leaked ``undefined``) and serialises."""
    json.dumps(value, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    mapping=st.dictionaries(st.text(max_size=4), mappings, max_size=4),
    event=st.dictionaries(st.text(max_size=4), json_values, max_size=5),
)
def test_evaluation_raises_only_mapping_errors(
    mapping: dict[str, Any], event: dict[str, Any]
) -> None:
    try:
        compiled = CompiledMapping(mapping)
    except MappingError:
        return
    try:
        result = compiled.evaluate(event)
    except MappingError:
        return
    assert isinstance(result, dict)
    assert_plain_json(result)


@settings(max_examples=200, deadline=None)
@given(mapping=json_values)
def test_validation_of_arbitrary_json_raises_only_mapping_errors(mapping: Any) -> None:
    with contextlib.suppress(MappingError):
        validate_mapping(mapping)
