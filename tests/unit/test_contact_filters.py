"""Contact search filters compile to exactly Qualtrics' documented JSON; bad ones never leave."""

from __future__ import annotations

import datetime as dt

import pytest

from qualtrics_sdk import (
    ContactDateCriterion,
    ContactFilter,
    ContactFilterGroup,
    ContactTextCriterion,
    ValidationError,
)
from qualtrics_sdk.models.contact_filters import StateTextField, TextField, compile_contact_filter

F = ContactFilter


@pytest.mark.parametrize(
    ("field", "wire"),
    [
        (F.email, "email"),
        (F.first_name, "firstName"),
        (F.last_name, "lastName"),
        (F.language, "language"),
        (F.phone, "phone"),
        (F.ext_ref, "extRef"),
    ],
)
def test_text_fields_compile_eq_and_neq(field: TextField, wire: str) -> None:
    assert field.eq("Value 1").to_wire() == {
        "filterType": wire,
        "comparison": "eq",
        "value": "Value 1",
    }
    assert field.neq("x").to_wire() == {"filterType": wire, "comparison": "neq", "value": "x"}


def test_date_comparisons_send_a_date_as_yyyy_mm_dd() -> None:
    day = dt.date(2024, 1, 31)
    for name in ("eq", "neq", "gt", "gte", "lt", "lte"):
        assert getattr(F.created, name)(day).to_wire() == {
            "filterType": "created",
            "comparison": name,
            "value": "2024-01-31",
        }


def test_date_comparison_converts_an_aware_datetime_to_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2024, 5, 1, 1, 30, 5, tzinfo=paris)
    assert F.last_modified.gte(moment).to_wire() == {
        "filterType": "lastModified",
        "comparison": "gte",
        "value": "2024-04-30 23:30:05",
    }


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware") as info:
        F.created.lt(dt.datetime(2024, 5, 1, 12, 0))
    assert info.value.field == "created"


def test_non_date_value_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"datetime\.date"):
        F.created.gt("2024-05-01")  # type: ignore[arg-type]


def test_in_list_and_not_in_list() -> None:
    assert F.in_list("CG_1").to_wire() == {
        "filterType": "inList",
        "comparison": True,
        "mailingListId": "CG_1",
    }
    assert F.not_in_list("CG_1").to_wire() == {
        "filterType": "inList",
        "comparison": False,
        "mailingListId": "CG_1",
    }
    with pytest.raises(ValidationError, match="mailing list id"):
        F.in_list("")


@pytest.mark.parametrize(
    ("field", "wire"),
    [
        (F.email, "email"),
        (F.ext_ref, "extRef"),
        (F.first_name, "firstName"),
        (F.last_name, "lastName"),
    ],
)
def test_info_field_state(field: StateTextField, wire: str) -> None:
    assert field.is_empty().to_wire() == {
        "filterType": "infoFieldState",
        "field": wire,
        "comparison": "empty",
    }
    assert field.is_not_empty().to_wire() == {
        "filterType": "infoFieldState",
        "field": wire,
        "comparison": "notEmpty",
    }


def test_phone_and_language_have_no_emptiness_test() -> None:
    # Qualtrics' infoFieldState only covers email, extRef, firstName and lastName.
    assert not hasattr(F.phone, "is_empty")
    assert not hasattr(F.language, "is_not_empty")


@pytest.mark.parametrize("value", ["", "   ", None, 5])
def test_blank_or_non_string_text_values_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        F.email.eq(value)  # type: ignore[arg-type]
    assert info.value.field == "email"


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValidationError, match="filter_type"):
        ContactTextCriterion("emailAddress", "eq", "a@b.com")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="comparison"):
        ContactDateCriterion("created", "after", dt.date(2024, 1, 1))  # type: ignore[arg-type]


def test_one_criterion_is_sent_bare() -> None:
    assert F.all_of(F.email.eq("a@b.com")).to_wire() == {
        "filterType": "email",
        "comparison": "eq",
        "value": "a@b.com",
    }
    assert compile_contact_filter(F.email.eq("a@b.com")) == {
        "filterType": "email",
        "comparison": "eq",
        "value": "a@b.com",
    }


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_two_to_five_criteria_are_joined_with_and_in_order(count: int) -> None:
    criteria = [F.ext_ref.eq(f"u{i}") for i in range(count)]
    assert compile_contact_filter(F.all_of(*criteria)) == {
        "conjunction": "and",
        "filters": [
            {"filterType": "extRef", "comparison": "eq", "value": f"u{i}"} for i in range(count)
        ],
    }


def test_six_criteria_are_refused() -> None:
    criteria = [F.ext_ref.eq(f"u{i}") for i in range(6)]
    with pytest.raises(ValidationError, match="at most 5 criteria, got 6"):
        F.all_of(*criteria)


def test_no_criteria_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        F.all_of()


def test_nested_groups_are_flattened_then_counted() -> None:
    inner = F.all_of(F.email.eq("a@b.com"), F.in_list("CG_1"))
    group = F.all_of(inner, F.created.gte(dt.date(2024, 1, 1)))
    assert group.to_wire() == {
        "conjunction": "and",
        "filters": [
            {"filterType": "email", "comparison": "eq", "value": "a@b.com"},
            {"filterType": "inList", "comparison": True, "mailingListId": "CG_1"},
            {"filterType": "created", "comparison": "gte", "value": "2024-01-01"},
        ],
    }
    three = F.all_of(*(F.phone.eq(str(i)) for i in range(3)))
    with pytest.raises(ValidationError, match="got 6"):
        F.all_of(three, three)


def test_all_of_refuses_things_that_are_not_criteria() -> None:
    with pytest.raises(ValidationError, match="all_of takes criteria"):
        F.all_of({"filterType": "email"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="got str"):
        ContactFilterGroup(("email",))


def test_raw_dict_filter_is_sent_as_given() -> None:
    raw = {"filterType": "embeddedData", "comparison": "eq", "field": "plan", "value": "gold"}
    assert compile_contact_filter(raw) == raw


def test_raw_dict_with_filter_wrapper_is_refused() -> None:
    with pytest.raises(ValidationError, match="without the outer"):
        compile_contact_filter(
            {"filter": {"filterType": "email", "comparison": "eq", "value": "x"}}
        )


def test_other_filter_types_are_refused() -> None:
    with pytest.raises(ValidationError, match="ContactFilter"):
        compile_contact_filter("email = a@b.com")  # type: ignore[arg-type]
