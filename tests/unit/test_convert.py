"""The converter: camelCase on the wire, unknown fields kept, dates parsed, no silent coercion."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from qualtrics_sdk import Directory, ResponseValidationError, ValidationError, WhoAmI
from qualtrics_sdk._convert import (
    format_qualtrics_datetime,
    parse_datetime,
    structure,
    unstructure,
    wire_field,
)
from qualtrics_sdk.models._base import Model

UTC = dt.timezone.utc


@attrs.frozen(kw_only=True)
class Sample(Model):
    contact_id: str = wire_field(wire="contactId", aliases=("id",))
    ext_ref: str | None = wire_field(
        wire="extRef", aliases=("externalDataReference",), default=None
    )
    creation_date: dt.datetime | None = None
    unsubscribed: bool | None = None
    embedded_data: dict[str, str] = attrs.field(factory=dict)


def test_one_model_reads_list_and_search_spellings() -> None:
    listed = structure(
        {"contactId": "CID_1", "extRef": "u1", "creationDate": 1714568400000}, Sample
    )
    searched = structure(
        {"id": "CID_1", "externalDataReference": "u1", "creationDate": "2024-05-01T13:00:00Z"},
        Sample,
    )
    assert listed.contact_id == searched.contact_id == "CID_1"
    assert listed.ext_ref == searched.ext_ref == "u1"
    assert listed.creation_date == searched.creation_date == dt.datetime(2024, 5, 1, 13, tzinfo=UTC)


def test_unknown_fields_are_kept_and_round_trip() -> None:
    sample = structure(
        {"contactId": "CID_1", "brandNewField": {"x": 1}, "embeddedData": {"n": 5}}, Sample
    )
    assert sample.extra == {"brandNewField": {"x": 1}}
    assert sample.embedded_data == {"n": "5"}  # Qualtrics stores embedded data as strings
    assert unstructure(sample) == {
        "brandNewField": {"x": 1},
        "contactId": "CID_1",
        "embeddedData": {"n": "5"},
    }


@pytest.mark.parametrize("value", ["yes", 2, {"a": 1}])
def test_booleans_are_not_coerced_from_arbitrary_values(value: object) -> None:
    with pytest.raises(ResponseValidationError, match="unsubscribed"):
        structure({"contactId": "C", "unsubscribed": value}, Sample)


def test_boolean_strings_from_qualtrics_are_understood() -> None:
    assert structure({"contactId": "C", "unsubscribed": "false"}, Sample).unsubscribed is False


def test_missing_required_field_is_a_validation_error_naming_the_model() -> None:
    with pytest.raises(ResponseValidationError, match="Sample"):
        structure({"extRef": "x"}, Sample)
    with pytest.raises(ResponseValidationError):
        structure(["not", "an", "object"], Directory)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1714568400000, dt.datetime(2024, 5, 1, 13, tzinfo=UTC)),
        ("1714568400000", dt.datetime(2024, 5, 1, 13, tzinfo=UTC)),
        ("2024-05-01 13:00:00", dt.datetime(2024, 5, 1, 13, tzinfo=UTC)),
        ("2024-05-01T15:00:00+02:00", dt.datetime(2024, 5, 1, 13, tzinfo=UTC)),
        ("2024-05-01T13:00:00.000Z", dt.datetime(2024, 5, 1, 13, tzinfo=UTC)),
        ("2024-05-01", dt.datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_dates_in_every_qualtrics_form(raw: object, expected: dt.datetime) -> None:
    assert parse_datetime(raw) == expected


def test_request_dates_are_utc_and_naive_ones_refused() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    assert (
        format_qualtrics_datetime(dt.datetime(2024, 5, 1, 15, tzinfo=paris))
        == "2024-05-01 13:00:00"
    )
    with pytest.raises(ValidationError, match="timezone-aware"):
        format_qualtrics_datetime(dt.datetime(2024, 5, 1, 15), field="transaction_date")


def test_real_whoami_and_directory_bodies() -> None:
    me = structure(
        {
            "brandId": "conclusive",
            "userId": "UR_1",
            "userName": "peter",
            "accountType": "UT_BRANDADMIN",
            "firstName": "Peter",
            "lastName": "G",
            "email": "p@example.com",
            "datacenter": "az1",
        },
        WhoAmI,
    )
    assert (me.brand_id, me.user_id, me.account_type, me.datacenter) == (
        "conclusive",
        "UR_1",
        "UT_BRANDADMIN",
        "az1",
    )
    directory = structure(
        {
            "directoryId": "POOL_1",
            "name": "Main",
            "contactCount": 123,
            "isDefault": True,
            "deduplicationCriteria": {
                "email": True,
                "firstName": False,
                "lastName": False,
                "externalDataReference": True,
                "phone": False,
            },
        },
        Directory,
    )
    assert directory.deduplication_criteria is not None
    assert directory.deduplication_criteria.email
    assert directory.deduplication_criteria.external_data_reference
    assert not directory.deduplication_criteria.phone
