"""Per-event payload checks: Segment's removeEmptyValues/required/coercion, data maps, dates."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segment_adapter.actions._defaults import ADD_CONTACT, UPSERT_TRANSACTION
from segment_adapter.actions._payloads import (
    PayloadError,
    check_payload,
    flat_map,
    parse_transaction_date,
    same_stored_value,
)

UTC = dt.timezone.utc


def upsert_payload(**extra: Any) -> dict[str, Any]:
    return {"directoryId": "POOL_1", "mailingListId": "CG_1", "extRef": "u1", **extra}


def test_null_and_empty_string_are_removed_at_the_root() -> None:
    payload = check_payload(
        ADD_CONTACT,
        {"directoryId": "POOL_1", "email": "", "phone": None, "firstName": "Ann"},
    )
    assert payload == {"directoryId": "POOL_1", "firstName": "Ann"}


def test_nested_empty_values_are_kept() -> None:
    payload = check_payload(ADD_CONTACT, {"directoryId": "POOL_1", "embeddedData": {"a": ""}})
    assert payload["embeddedData"] == {"a": ""}


@pytest.mark.parametrize("value", [None, ""])
def test_missing_required_field_names_it(value: Any) -> None:
    with pytest.raises(PayloadError, match="mailingListId") as caught:
        check_payload(UPSERT_TRANSACTION, {"directoryId": "POOL_1", "extRef": "u1", "x": value})
    assert caught.value.field == "mailingListId"


def test_fields_the_action_does_not_have_are_dropped() -> None:
    assert check_payload(ADD_CONTACT, {"directoryId": "POOL_1", "bogus": 1}) == {
        "directoryId": "POOL_1"
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, "12"), (1.5, "1.5"), (1.0, "1"), (True, "true"), (["only"], "only"), ("x", "x")],
)
def test_string_fields_accept_scalars_as_segment_coerces_them(value: Any, expected: str) -> None:
    assert (
        check_payload(ADD_CONTACT, {"directoryId": "POOL_1", "phone": value})["phone"] == expected
    )


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("false", False), (1, True), (0, False)]
)
def test_boolean_fields_accept_segment_coercions(value: Any, expected: bool) -> None:
    payload = check_payload(ADD_CONTACT, {"directoryId": "POOL_1", "unsubscribed": value})
    assert payload["unsubscribed"] is expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", {"a": 1}, "email must be a string, but the mapping gave an object"),
        ("email", [1, 2], "email must be a string, but the mapping gave an array"),
        ("unsubscribed", "yes", "unsubscribed must be true or false"),
        ("embeddedData", "plan", "embeddedData must be an object"),
    ],
)
def test_unconvertible_values_fail_naming_the_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as caught:
        check_payload(ADD_CONTACT, {"directoryId": "POOL_1", field: value})
    assert caught.value.field == field


def test_transaction_date_must_be_a_string_or_number() -> None:
    with pytest.raises(PayloadError, match="transactionDate must be a date string or a number"):
        check_payload(UPSERT_TRANSACTION, upsert_payload(transactionDate=True))


def test_payload_error_pickles() -> None:
    error = PayloadError("bad", field="email")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.field) == ("bad", "email")


# -- flat maps (decision 13, D5) -------------------------------------------------------------


def test_nested_values_are_json_encoded_per_key_and_nulls_dropped() -> None:
    assert flat_map(
        "transactionData",
        {
            "items": [{"sku": "A", "qty": 2.0}, None],
            "meta": {"b": 1, "a": "é"},
            "gone": None,
            "n": 3,
            "ok": True,
            "s": "x",
        },
    ) == {
        "items": '[{"sku":"A","qty":2},null]',
        "meta": '{"b":1,"a":"é"}',
        "n": 3,
        "ok": True,
        "s": "x",
    }


def test_each_key_gets_its_own_value_not_the_whole_object_d5() -> None:
    data = {"a": {"x": 1}, "b": {"y": 2}}
    assert flat_map("transactionData", data) == {"a": '{"x":1}', "b": '{"y":2}'}


def test_empty_key_is_refused() -> None:
    with pytest.raises(PayloadError, match="empty key"):
        flat_map("embeddedData", {"": 1})


# -- dates (decision 9, D10) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T13:00:00Z", dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01T13:00:00.123456789Z", dt.datetime(2024, 5, 1, 13, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T15:00:00+02:00", dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01T15:00:00+0200", dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01T08:00:00-05:00", dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01 13:00:00", dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01T13:00:00", dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        ("2024-05-01", dt.datetime(2024, 5, 1, tzinfo=UTC)),
        (1714568400000, dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
        (1714568400000.5, dt.datetime(2024, 5, 1, 13, 0, 0, 500, tzinfo=UTC)),
        (0, dt.datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_dates_parse_to_utc(value: Any, expected: dt.datetime) -> None:
    parsed = parse_transaction_date(value)
    assert parsed == expected
    assert parsed.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2024-13-01T00:00:00Z",
        "2024-02-30",
        "1714568400000",
        "Wed, 01 May 2024 13:00:00 GMT",
        float("nan"),
        float("inf"),
        10**20,
        True,
    ],
)
def test_anything_else_fails_naming_the_value_d10(value: Any) -> None:
    with pytest.raises(PayloadError, match="is not a date") as caught:
        parse_transaction_date(value)
    assert caught.value.field == "transactionDate"
    assert repr(value)[:20] in str(caught.value)


@given(st.datetimes(timezones=st.just(UTC), min_value=dt.datetime(1971, 1, 1)))
def test_iso_strings_round_trip(moment: dt.datetime) -> None:
    assert parse_transaction_date(moment.isoformat()) == moment


# -- values as Qualtrics stores them -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored", "same"),
    [
        ("x", "x", True),
        ("x", "y", False),
        (True, "true", True),
        (False, "true", False),
        (5, "5", True),
        (12.5, "12.5", True),
        (1.0, "1.0", True),
        (1.0, "1", True),
        (2, "2.0", True),
        (5, "five", False),
        ("5", "5.0", False),
        ("x", None, False),
    ],
)
def test_same_stored_value(sent: Any, stored: str | None, same: bool) -> None:
    assert same_stored_value(sent, stored) is same
