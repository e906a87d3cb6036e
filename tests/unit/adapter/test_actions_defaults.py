"""Default mappings and subscriptions of the three actions: Segment's, plus the D6/D14 fallbacks."""

from __future__ import annotations

from typing import Any

import pytest

from segment_adapter.actions import (
    ACTIONS,
    action_names,
    default_mapping,
    default_subscription,
)
from segment_adapter.mapping import CompiledMapping
from segment_adapter.subscriptions import parse_subscription


def evaluate(action: str, event: dict[str, Any]) -> dict[str, Any]:
    return CompiledMapping(default_mapping(action)).evaluate(event)


def test_action_names_are_the_hosted_destinations() -> None:
    assert action_names() == (
        "addContactToXmd",
        "upsertContactTransaction",
        "triggerXflowWorkflow",
    )


def test_default_subscriptions_are_the_hosted_ones() -> None:
    assert default_subscription("addContactToXmd") == 'type = "identify"'
    assert (
        default_subscription("upsertContactTransaction")
        == 'type = "track", event = "Transaction Created"'
    )
    assert default_subscription("triggerXflowWorkflow") is None


def test_unknown_action_is_a_value_error_listing_the_actions() -> None:
    with pytest.raises(ValueError, match="addContactToXmd"):
        default_mapping("addContact")


def test_the_comma_default_subscription_means_and_d7() -> None:
    condition = parse_subscription(default_subscription("upsertContactTransaction") or "")
    assert condition.matches({"type": "track", "event": "Transaction Created"})
    assert not condition.matches({"type": "track", "event": "Order Completed"})
    assert not condition.matches({"type": "identify", "event": "Transaction Created"})


def test_default_mapping_is_a_fresh_copy() -> None:
    first = default_mapping("addContactToXmd")
    first["extRef"]["@path"] = "$.anonymousId"
    assert default_mapping("addContactToXmd")["extRef"] == {"@path": "$.userId"}


def test_the_hosted_simple_defaults_are_unchanged() -> None:
    add = default_mapping("addContactToXmd")
    assert add["extRef"] == {"@path": "$.userId"}
    assert add["unsubscribed"] is False
    assert "directoryId" not in add
    assert "embeddedData" not in add
    upsert = default_mapping("upsertContactTransaction")
    assert upsert["transactionDate"] == {"@path": "$.timestamp"}
    assert upsert["extRef"] == {
        "@if": {
            "exists": {"@path": "$.userId"},
            "then": {"@path": "$.userId"},
            "else": {"@path": "$.anonymousId"},
        }
    }
    assert set(upsert) == {
        "mailingListId",
        "contactId",
        "extRef",
        "email",
        "phone",
        "firstName",
        "lastName",
        "language",
        "unsubscribed",
        "transactionDate",
    }


def test_identify_defaults_read_traits() -> None:
    event = {
        "type": "identify",
        "userId": "u1",
        "traits": {
            "email": "ann@example.com",
            "phone": "+15550100",
            "firstName": "Ann",
            "lastName": "Lee",
            "language": "FR",
        },
    }
    assert evaluate("addContactToXmd", event) == {
        "extRef": "u1",
        "email": "ann@example.com",
        "phone": "+15550100",
        "firstName": "Ann",
        "lastName": "Lee",
        "language": "FR",
        "unsubscribed": False,
    }


def test_language_defaults_to_en_and_missing_traits_are_left_out() -> None:
    assert evaluate("addContactToXmd", {"type": "identify", "userId": "u1"}) == {
        "extRef": "u1",
        "language": "EN",
        "unsubscribed": False,
    }


def test_top_level_email_wins_as_in_segment() -> None:
    event = {"userId": "u1", "email": "top@example.com", "traits": {"email": "t@example.com"}}
    assert evaluate("addContactToXmd", event)["email"] == "top@example.com"


def test_track_events_read_context_traits_d6() -> None:
    event = {
        "type": "track",
        "event": "Transaction Created",
        "anonymousId": "anon-1",
        "timestamp": "2024-05-01T13:00:00Z",
        "context": {
            "traits": {
                "email": "ann@example.com",
                "phone": "+15550100",
                "firstName": "Ann",
                "lastName": "Lee",
                "language": "DE",
                "qualtricsMailingListId": "CG_1",
                "qualtricsContactId": "CID_1",
            }
        },
    }
    assert evaluate("upsertContactTransaction", event) == {
        "mailingListId": "CG_1",
        "contactId": "CID_1",
        "extRef": "anon-1",
        "email": "ann@example.com",
        "phone": "+15550100",
        "firstName": "Ann",
        "lastName": "Lee",
        "language": "DE",
        "unsubscribed": False,
        "transactionDate": "2024-05-01T13:00:00Z",
    }


def test_top_level_trait_wins_over_context_traits() -> None:
    event = {
        "userId": "u1",
        "traits": {"phone": "+1 top"},
        "context": {"traits": {"phone": "+1 context", "lastName": "Context"}},
    }
    mapped = evaluate("addContactToXmd", event)
    assert mapped["phone"] == "+1 top"
    assert mapped["lastName"] == "Context"


def test_null_top_level_trait_falls_back_to_context_traits() -> None:
    event = {"userId": "u1", "traits": {"phone": None}, "context": {"traits": {"phone": "+1"}}}
    assert evaluate("addContactToXmd", event)["phone"] == "+1"


@pytest.mark.parametrize(
    ("traits", "context_traits", "expected"),
    [
        ({"first_name": "Ann", "last_name": "Lee"}, {}, {"firstName": "Ann", "lastName": "Lee"}),
        ({}, {"first_name": "Ann", "last_name": "Lee"}, {"firstName": "Ann", "lastName": "Lee"}),
        ({"first_name": "snake"}, {"firstName": "camel"}, {"firstName": "camel"}),
        ({"firstName": "camel", "first_name": "snake"}, {}, {"firstName": "camel"}),
    ],
)
def test_snake_case_names_when_camel_case_is_absent_d14(
    traits: dict[str, Any], context_traits: dict[str, Any], expected: dict[str, Any]
) -> None:
    event = {"userId": "u1", "traits": traits, "context": {"traits": context_traits}}
    mapped = evaluate("addContactToXmd", event)
    assert {key: mapped[key] for key in expected} == expected


def test_phone_number_is_read_when_phone_is_absent_d14() -> None:
    event = {"userId": "u1", "traits": {"phone_number": "+15550100"}}
    assert evaluate("upsertContactTransaction", event)["phone"] == "+15550100"


def test_workflow_default_payload_has_the_hosted_keys() -> None:
    event = {
        "type": "identify",
        "userId": "u1",
        "traits": {"plan": "pro"},
        "context": {"ip": "1.2.3.4"},
    }
    assert evaluate("triggerXflowWorkflow", event) == {
        "eventPayload": {
            "type": "identify",
            "userId": "u1",
            "traits": {"plan": "pro"},
            "context": {"ip": "1.2.3.4"},
        }
    }


def test_workflow_default_payload_sends_context_traits_for_track_d6() -> None:
    event = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "properties": {"total": 5},
        "context": {"traits": {"plan": "pro"}},
    }
    payload = evaluate("triggerXflowWorkflow", event)["eventPayload"]
    assert payload == {
        "event": "Order Completed",
        "type": "track",
        "userId": "u1",
        "properties": {"total": 5},
        "traits": {"plan": "pro"},
        "context": {"traits": {"plan": "pro"}},
    }


def test_required_fields_match_the_hosted_schema() -> None:
    required = {
        name: tuple(field.name for field in spec.fields if field.required)
        for name, spec in ACTIONS.items()
    }
    assert required == {
        "addContactToXmd": ("directoryId",),
        "upsertContactTransaction": ("directoryId", "mailingListId", "extRef"),
        "triggerXflowWorkflow": ("workflowUrl",),
    }
